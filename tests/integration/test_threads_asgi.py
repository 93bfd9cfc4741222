"""Thread pools and ASGI: idle threads hold no connection; load stays within the cap (issue 6)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.helpers import ROOT, Admin, PeakConnections, Scratch, eventually, session_id
from tests.support.mariadb_server import free_port


def test_thread_pool_executor_idle_threads_hold_at_most_pool_size(scratch: Scratch) -> None:
    # idle_timeout=None: connections beyond pool_size close as they come back (with an idle
    # timeout they would stay open, idle and unheld, for that long).
    make = scratch.factory({"pool_size": 3, "max_overflow": 10, "idle_timeout": None})
    local = threading.local()
    all_queried = threading.Barrier(41)

    def query_once(_: int) -> int:
        # One Django connection per executor thread, as Django's thread-local handler keeps.
        db = local.__dict__.setdefault("db", make())
        found = session_id(db)
        all_queried.wait(30)  # all 40 threads now idle, Django connections still open
        return int(found)

    with ThreadPoolExecutor(max_workers=40) as pool:
        futures = [pool.submit(query_once, i) for i in range(40)]
        all_queried.wait(30)
        # The overflow connections were closed as they came back; the server drops a closed
        # session a moment later.
        eventually(
            lambda: scratch.server_connections() <= 3,
            what=lambda: "at most 3 sessions, not %d" % scratch.server_connections(),
        )
        held = make().pool_stats()["in_use"]
        for future in futures:
            future.result()
    assert held == 0  # 40 idle threads with open Django connections hold no connection


@pytest.fixture
def asgi_server(scratch: Scratch) -> Iterator[tuple[str, Scratch]]:
    scratch.admin.query(
        "CREATE TABLE %s.hits (id INT AUTO_INCREMENT PRIMARY KEY, worker INT)" % scratch.name
    )
    port = free_port()
    env = {
        **os.environ,
        "ASGI_TEST_DB": scratch.name,
        "ASGI_TEST_POOL": json.dumps({"pool_size": 4, "max_overflow": 4, "timeout": 30}),
        "ASGI_TEST_THREADS": "40",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.asgi.app:application",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = "http://127.0.0.1:%d" % port
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/stats", timeout=1).read()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)  # the server is starting; there is no event to wait on
    try:
        yield base, scratch
    finally:
        process.terminate()
        process.wait(30)


def test_asgi_app_under_load_stays_within_the_cap(asgi_server: tuple[str, Scratch]) -> None:
    base, scratch = asgi_server
    admin = Admin()

    def request(_: int) -> Any:
        with urllib.request.urlopen(base + "/hit", timeout=60) as response:
            return json.loads(response.read())["id"]

    with PeakConnections(admin, scratch.name, 0.02) as seen, ThreadPoolExecutor(100) as clients:
        ids = list(clients.map(request, range(600)))
    peak = seen.peak
    stats = json.loads(urllib.request.urlopen(base + "/stats").read())
    admin.conn.close()
    assert len(set(ids)) == 600
    assert 0 < peak <= 8, peak
    assert stats["open"] <= 8 and stats["in_use"] == 0
    # 40 executor threads did the work: more threads than connections, no errors.
    assert stats["timeouts"] == 0
