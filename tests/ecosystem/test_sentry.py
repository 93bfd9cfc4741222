"""Sentry's Django integration records the same query spans with this ENGINE as with the stock
backend, on both drivers, with both majors of the SDK (issue 23).

tests/ecosystem/sentry_workload.py runs the traced workload (tests/ecosystem/traced_jobs.py) in 4
threads on a pool of 2 connections, with each backend, in a fresh process: under the locked
sentry-sdk 3.x of this environment, and under the locked 2.x of the ``sentry2`` dependency group,
installed into a side environment from uv.lock (``locked_environment()``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.ecosystem.test_tracing import STOCK_OWN
from tests.support.helpers import Scratch, locked_environment, run_script

WORKLOAD = Path(__file__).resolve().parent / "sentry_workload.py"


def interpreter(major: int) -> str | Path:
    import sentry_sdk

    if sentry_sdk.VERSION.startswith("%d." % major):
        return sys.executable
    return locked_environment("sentry%d" % major)


def application_spans(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The spans less the stock backend's own statements on a new connection (Django runs its
    server-data query and the isolation level through its cursor wrapper, which Sentry wraps;
    this ENGINE's pool runs its own on the driver, unseen by Sentry)."""
    # Django names savepoints after the thread that makes them.
    return [
        {**span, "statement": re.sub(r"`s\d+_x", "`s<thread>_x", span["statement"])}
        for span in spans
        if not span["statement"].startswith(STOCK_OWN)
    ]


@pytest.mark.parametrize("driver", ["mysqlclient", "pymysql"])
@pytest.mark.parametrize("major", [2, 3])
def test_sentry_records_the_same_query_spans_as_with_the_stock_backend(
    scratch: Scratch, major: int, driver: str
) -> None:
    found, _ = run_script(
        WORKLOAD, {"db": scratch.name, "driver": driver}, python=interpreter(major)
    )
    assert found["sentry_sdk"].startswith("%d." % major), found["sentry_sdk"]
    stock, pooled = found["stock"], found["pooled"]
    assert sorted(pooled) == sorted(stock) and len(stock) == 4, (stock, pooled)
    for job in stock:
        expected = application_spans(stock[job])
        # Django's connect() (each job's Django connection: with this ENGINE it connects no
        # socket, but Sentry sees the same call), then 3 SELECTs, ORM insert and select, the
        # transaction's UPDATE, SAVEPOINT, INSERT and RELEASE, the session lease's SET and SELECT.
        statements = [span["statement"] for span in expected]
        assert statements[0] == "connect" and len(statements) == 12, statements
        # Same statements, origin, db.system, db.name, server.address and server.port.
        assert application_spans(pooled[job]) == expected, job
        data = expected[-1]["data"]
        assert data["db.system"] == "mysql" and data["db.name"] == scratch.name
        assert {"server.address", "server.port"} <= set(data)
    assert found["pool"]["max_open"] == 2 and found["pool"]["timeouts"] == 0
