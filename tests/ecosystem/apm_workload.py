"""The traced workload under an APM agent, with the stock backend and with this ENGINE.

    python tests/ecosystem/apm_workload.py '{"db": "...", "driver": "mysqlclient",
        "agent": "ddtrace", "concurrency": "threads"}'

The agents wrap the driver's ``connect()`` and trace the connection's cursors, as they do on a
production site: Datadog's ddtrace (``patch(mysqldb=True, pymysql=True)``, what ``ddtrace-run``
does for these integrations) and Elastic APM (``elasticapm.instrument()``). What they would send
is captured in the process instead (a ddtrace trace filter that keeps every trace; an Elastic APM
client whose queue keeps every event), nothing leaves it. Each job runs in a root span (ddtrace)
or a transaction (Elastic APM) of its own. Prints one JSON line: per alias, per job, the
database spans in the order they ended.
"""

import json
import os
import sys
from pathlib import Path

SPEC = json.loads(sys.argv[1])
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support import pymysql_shim  # noqa: E402

pymysql_shim.use(SPEC["driver"])

import contextlib  # noqa: E402
import threading  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from typing import Any  # noqa: E402

# job name -> the spans of its statements, in the order they ended
SPANS: dict[str, list[dict[str, Any]]] = {}
_lock = threading.Lock()


def keep(job: str, span: dict[str, Any]) -> None:
    with _lock:
        SPANS.setdefault(job, []).append(span)


if SPEC["agent"] == "ddtrace":
    # No agent to send to, and none of ddtrace's background services.
    os.environ.update(
        DD_TRACE_AGENT_URL="http://127.0.0.1:9",
        DD_INSTRUMENTATION_TELEMETRY_ENABLED="false",
        DD_REMOTE_CONFIGURATION_ENABLED="false",
    )
    from ddtrace import patch
    from ddtrace.trace import TraceFilter, tracer

    class Keep(TraceFilter):
        def process_trace(self, trace: Any) -> None:
            roots = [span for span in trace if span.parent_id is None]
            if roots and roots[0].name.startswith("job-"):
                for span in sorted(trace, key=lambda span: span.start_ns + span.duration_ns):
                    if span is not roots[0]:
                        tags = span.get_tags()
                        keep(
                            roots[0].name,
                            {
                                "statement": span.resource,
                                "name": span.name,
                                "service": span.service,
                                "tags": {
                                    k: v for k, v in tags.items() if k.startswith(("db.", "out."))
                                },
                            },
                        )
            return None  # nothing is sent

    tracer.configure(trace_processors=[Keep()])
    patch(mysqldb=True, pymysql=True)

    def traced(number: int) -> contextlib.AbstractContextManager[Any]:
        return tracer.trace("job-%d" % number)

else:
    import elasticapm
    from elasticapm.base import Client

    names: dict[str, str] = {}

    class Keeping(Client):
        def queue(self, event_type: str, data: Any, flush: bool = False) -> None:
            if event_type == "transaction":
                with _lock:
                    names[data["id"]] = data["name"]
            elif event_type == "span":
                db = data["context"]["db"]
                keep(
                    data["transaction_id"],
                    {
                        "statement": db["statement"],
                        "name": data["name"],
                        "type": [data["type"], data["subtype"], data["action"]],
                        "db": {k: v for k, v in db.items() if k != "statement"},
                        "destination": data["context"].get("destination"),
                    },
                )

    CLIENT = Keeping(
        service_name="apm-workload",
        server_url="http://127.0.0.1:9",
        disable_send=True,
        central_config=False,
        cloud_provider="none",
        metrics_interval="0ms",
        # Every span as it is: no compression of similar spans, no dropping of fast ones.
        span_compression_enabled=False,
        exit_span_min_duration="0ms",
    )
    elasticapm.instrument()

    @contextlib.contextmanager
    def traced(number: int) -> Iterator[None]:
        CLIENT.begin_transaction("job")
        try:
            yield
        finally:
            CLIENT.end_transaction("job-%d" % number, "ok")


from tests.ecosystem.traced_jobs import configure, run_jobs, warm_up  # noqa: E402

configure(SPEC["db"])


def spans_of(alias: str) -> dict[str, list[dict[str, Any]]]:
    warm_up(alias)
    SPANS.clear()
    run_jobs(alias, SPEC["concurrency"], traced)
    if SPEC["agent"] == "ddtrace":
        return dict(SPANS)
    return {names[transaction]: spans for transaction, spans in SPANS.items()}


if __name__ == "__main__":
    result: dict[str, Any] = {"stock": spans_of("default"), "pooled": spans_of("pooled")}
    import django_pooled_mysql

    result["pool"] = django_pooled_mysql.pool_stats("pooled")
    print(json.dumps(result, default=repr))
