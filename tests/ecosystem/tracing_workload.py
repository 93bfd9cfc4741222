"""One traced workload, run with the stock backend and with this ENGINE, in a fresh process.

    python tests/ecosystem/tracing_workload.py '{"db": "...", "driver": "mysqlclient",
        "instrumentor": "driver", "concurrency": "threads"}'

OpenTelemetry's SDK with an in-memory span exporter; the driver's own instrumentor
(``opentelemetry-instrumentation-mysqlclient`` or ``-pymysql``) or the generic DB-API one
(``opentelemetry-instrumentation-dbapi``'s ``trace_integration()``) is installed before Django
opens any connection, as ``opentelemetry-instrument`` or a ``post_fork`` hook would. Each job (in
the main thread, in threads, or in greenlets under gevent's monkey-patching) runs in a root span
of its own, so its statement spans can be told apart. Prints one JSON line: per alias, per job,
the spans of the database statements in the order they ended.
"""

import json
import sys
from pathlib import Path

SPEC = json.loads(sys.argv[1])
if SPEC["concurrency"] == "gevent":
    from gevent import monkey

    monkey.patch_all()

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support import pymysql_shim  # noqa: E402

pymysql_shim.use(SPEC["driver"])

from typing import Any  # noqa: E402

import MySQLdb  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)

EXPORTER = InMemorySpanExporter()
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))
TRACER = PROVIDER.get_tracer("tracing_workload")

if SPEC["instrumentor"] == "dbapi":
    from opentelemetry.instrumentation.dbapi import trace_integration

    # The attribute names OpenTelemetry's mysqlclient and PyMySQL instrumentors use.
    trace_integration(
        MySQLdb,
        "connect",
        "mysql",
        connection_attributes={"database": "db", "port": "port", "host": "host", "user": "user"},
        tracer_provider=PROVIDER,
    )
elif SPEC["driver"] == "pymysql":
    from opentelemetry.instrumentation.pymysql import PyMySQLInstrumentor

    PyMySQLInstrumentor().instrument(tracer_provider=PROVIDER)
else:
    from opentelemetry.instrumentation.mysqlclient import MySQLClientInstrumentor

    MySQLClientInstrumentor().instrument(tracer_provider=PROVIDER)

from tests.ecosystem.traced_jobs import configure, run_jobs, warm_up  # noqa: E402

configure(SPEC["db"])

from django.db import connections  # noqa: E402


def span_record(span: Any) -> dict[str, Any]:
    return {
        "name": span.name,
        "kind": span.kind.name,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes),
    }


def traced(alias: str) -> dict[str, list[dict[str, Any]]]:
    warm_up(alias)
    EXPORTER.clear()
    run_jobs(alias, SPEC["concurrency"], lambda n: TRACER.start_as_current_span("job-%d" % n))
    spans = EXPORTER.get_finished_spans()
    jobs = {span.context.span_id: span.name for span in spans if span.name.startswith("job-")}
    by_job: dict[str, list[dict[str, Any]]] = {name: [] for name in jobs.values()}
    for span in spans:
        if span.parent is not None and span.parent.span_id in jobs:
            by_job[jobs[span.parent.span_id]].append(span_record(span))
    return by_job


if __name__ == "__main__":
    result = {"stock": traced("default"), "pooled": traced("pooled")}
    import django_pooled_mysql

    result["pool"] = django_pooled_mysql.pool_stats("pooled")
    with django_pooled_mysql.pinned("pooled") as connection:
        physical = connection.connection._lease.connection
        # What the ENGINE holds (the tracer's proxy) and the driver's connection behind it.
        result["classes"] = [
            type(physical).__name__,
            type(getattr(physical, "__wrapped__", physical)).__name__,
        ]
    connections["pooled"].close()
    print(json.dumps(result, default=repr))
