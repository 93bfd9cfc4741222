"""The traced workload under the Sentry SDK (2.x or 3.x), with the stock backend and this ENGINE.

    python tests/ecosystem/sentry_workload.py '{"db": "...", "driver": "mysqlclient"}'

Run by whichever interpreter has the SDK to test: .venv's has the locked 3.x, the side
environment of the ``sentry2`` dependency group the locked 2.x (tests/ecosystem/test_sentry.py).
Sentry's Django integration wraps Django's cursor wrapper (a ``db`` span per statement, its
``db.*`` and ``server.*`` data read from the Django connection) and ``connect()``. Each job runs
in a transaction (2.x: ``start_transaction()``) or a root span (3.x: ``start_span()`` with no
parent, a segment) of its own, in 4 threads on a pool of 2 connections. A transport keeps what
the SDK would send (2.x: transaction events holding their spans; 3.x: streamed span items), so
nothing leaves the process. Prints one JSON line: the SDK's version, and per alias, per job, the
database spans in the order they started, in one shape for both majors.
"""

import json
import sys
import threading
from pathlib import Path

SPEC = json.loads(sys.argv[1])
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support import pymysql_shim  # noqa: E402

pymysql_shim.use(SPEC["driver"])

import contextlib  # noqa: E402
from typing import Any  # noqa: E402

import sentry_sdk  # noqa: E402
from sentry_sdk.integrations.django import DjangoIntegration  # noqa: E402
from sentry_sdk.transport import Transport  # noqa: E402

MAJOR = int(sentry_sdk.VERSION.split(".")[0])
# job name -> (start, span) of its database spans
SPANS: dict[str, list[tuple[Any, dict[str, Any]]]] = {}
_lock = threading.Lock()

# What identifies a statement's span across the majors (3.x renamed db.system and db.name after
# OpenTelemetry's conventions); the rest of a span's data is compared as it is, except what
# names a thread, a time or an id.
RENAMED = {"db.system.name": "db.system", "db.namespace": "db.name"}
COMPARED = ("db.", "server.", "network.")


def keep(job: str, start: Any, name: str, op: Any, origin: Any, data: dict[str, Any]) -> None:
    if op != "db":
        return
    span = {
        "statement": " ".join(name.split()),
        "origin": origin,
        "data": {
            RENAMED.get(key, key): value
            for key, value in data.items()
            if key.startswith(COMPARED) and key != "db.query.text"
        },
    }
    with _lock:
        SPANS.setdefault(job, []).append((start, span))


class Keep(Transport):
    """Keeps every span the SDK would send, in the process."""

    def capture_envelope(self, envelope: Any) -> None:
        for item in envelope.items:
            if item.type == "transaction":
                # 2.x: one event per transaction, its spans inside.
                event = item.payload.json
                for span in event.get("spans", []):
                    keep(
                        event["transaction"],
                        span["start_timestamp"],
                        span.get("description") or "",
                        span.get("op"),
                        span.get("origin"),
                        span.get("data", {}),
                    )
            elif item.type == "span":
                # 3.x: spans streamed in batches, each attribute typed ({"type", "value"}).
                for span in item.payload.json["items"]:
                    attributes = {
                        key: value["value"] if isinstance(value, dict) else value
                        for key, value in span.get("attributes", {}).items()
                    }
                    if not span.get("is_segment"):
                        keep(
                            attributes["sentry.segment.name"],
                            span["start_timestamp"],
                            span["name"],
                            attributes.get("sentry.op"),
                            attributes.get("sentry.origin"),
                            attributes,
                        )


sentry_sdk.init(
    dsn="https://public@sentry.example.invalid/1",
    transport=Keep,
    integrations=[DjangoIntegration()],
    default_integrations=False,
    traces_sample_rate=1.0,
)


def traced(number: int) -> contextlib.AbstractContextManager[Any]:
    """A transaction (2.x) or a segment (3.x) of the job's own."""
    name = "job-%d" % number
    if MAJOR >= 3:
        return sentry_sdk.start_span(name=name)
    return sentry_sdk.start_transaction(name=name, op="task")


from tests.ecosystem.traced_jobs import configure, run_jobs, warm_up  # noqa: E402

configure(SPEC["db"])


def spans_of(alias: str) -> dict[str, list[dict[str, Any]]]:
    warm_up(alias)
    sentry_sdk.flush()
    SPANS.clear()
    run_jobs(alias, "threads", traced)
    sentry_sdk.flush()
    with _lock:
        return {
            job: [span for _, span in sorted(spans, key=lambda pair: pair[0])]
            for job, spans in SPANS.items()
        }


if __name__ == "__main__":
    result: dict[str, Any] = {
        "sentry_sdk": sentry_sdk.VERSION,
        "stock": spans_of("default"),
        "pooled": spans_of("pooled"),
    }
    import django_pooled_mysql

    result["pool"] = django_pooled_mysql.pool_stats("pooled")
    print(json.dumps(result, default=repr))
