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
if SPEC["driver"] == "pymysql":
    import pymysql

    # Django's backend checks for mysqlclient >= 2.2.1.
    pymysql.version_info = (2, 2, 7, "final", 0)
    pymysql.install_as_MySQLdb()

import threading  # noqa: E402
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

import django  # noqa: E402
from django.conf import settings  # noqa: E402

from tests.settings import database  # noqa: E402

JOBS = {"main": 1, "threads": 4, "gevent": 4}[SPEC["concurrency"]]
settings.configure(
    DATABASES={
        "default": {**database(SPEC["db"]), "ENGINE": "django.db.backends.mysql", "OPTIONS": {}},
        # Fewer connections than jobs: the jobs share the pool's connections.
        "pooled": {
            **database(SPEC["db"]),
            "ENGINE": "django_pooled_mysql",
            "OPTIONS": {"pool": {"pool_size": 2, "max_overflow": 0}},
        },
    },
    INSTALLED_APPS=["django.contrib.contenttypes", "tests.testapp"],
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    USE_TZ=True,
)
django.setup()

from django.db import connections, transaction  # noqa: E402

from tests.testapp.models import Author  # noqa: E402


def workload(alias: str, job: int) -> None:
    """Statement leases, a transaction lease with a savepoint, then a session lease."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        for i in range(3):
            cursor.execute("SELECT %s", [i])
    author = Author.objects.using(alias).create(name="%s-%d" % (alias, job))
    list(Author.objects.using(alias).filter(pk=author.pk))
    with transaction.atomic(using=alias):
        Author.objects.using(alias).filter(pk=author.pk).update(age=1)
        with transaction.atomic(using=alias):
            Book = author.books.model
            Book.objects.using(alias).create(title="t", author=author)
    with connection.cursor() as cursor:
        cursor.execute("SET @tracing_workload = %s", [job])
        cursor.execute("SELECT @tracing_workload")
        assert cursor.fetchone()[0] == job


def run_jobs(alias: str) -> None:
    """JOBS jobs at once, each in a root span of its own and on its own Django connection."""
    errors: list[BaseException] = []

    def job(number: int) -> None:
        try:
            with TRACER.start_as_current_span("job-%d" % number):
                workload(alias, number)
        except BaseException as exc:
            errors.append(exc)
        finally:
            # Outside the job's span, as at the end of a request: what a session reset or a
            # reconnect sends then is not part of what is compared.
            connections[alias].close()

    if SPEC["concurrency"] == "main":
        job(0)
    elif SPEC["concurrency"] == "threads":
        threads = [threading.Thread(target=job, args=(n,)) for n in range(JOBS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    else:
        import gevent

        gevent.joinall([gevent.spawn(job, n) for n in range(JOBS)], timeout=60, raise_error=True)
    if errors:
        raise errors[0]


def span_record(span: Any) -> dict[str, Any]:
    return {
        "name": span.name,
        "kind": span.kind.name,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes),
    }


def traced(alias: str) -> dict[str, list[dict[str, Any]]]:
    # A warm-up job, so that both backends' first connection (and the pool's server facts)
    # happen before what is compared; then the jobs.
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")
    connections[alias].close()
    EXPORTER.clear()
    run_jobs(alias)
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
