"""A partition the kernel sees: packets dropped, nothing closed, nothing answered.

The user-space proxy (tests/support/tcp_proxy.py) can stop forwarding, but its kernel still
acknowledges every packet, so TCP keepalive never notices it. Here the whole test runs in a
private network namespace (``unshare -n``, root) with its own throwaway MariaDB on the
namespace's loopback, and the partition is ``ip link set lo down``: from then on every packet,
keepalive probes included, is dropped, as on a cable that was cut.

    unshare -n python tests/faults/kernel_partition.py           # every mode, one server
    python tests/faults/kernel_partition.py --mode threads       # one mode (inside the above)

The outer run prints one JSON line, {mode: observed}; tests/faults/test_network.py asserts.
"""

from __future__ import annotations

import sys

if __name__ == "__main__" and "--mode" in sys.argv:
    MODE = sys.argv[sys.argv.index("--mode") + 1]
    if MODE == "gevent":
        from gevent import monkey

        monkey.patch_all()

import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
if __name__ == "__main__" and "--mode" in sys.argv:
    from tests.support import pymysql_shim

    # Before child() imports Django and MySQLdb; gevent's monkey-patching came first, above.
    pymysql_shim.use("pymysql" if MODE == "pymysql" else "mysqlclient")

MODES = ("threads", "gevent", "pymysql")
# tcp_keepalive=1: probes after 1 s idle, every 1 s, 3 times; TCP_USER_TIMEOUT 4 s.
KEEPALIVE = 1
QUERY_SECONDS = 2


def link(state: str) -> None:
    subprocess.run(["ip", "link", "set", "lo", state], check=True)


def child() -> dict[str, Any]:
    import django
    from django.conf import settings

    from tests.settings import admin_connect, pooled_database
    from tests.support.helpers import eventually, fetch_all, scalar

    pool = {"pool_size": 4, "max_overflow": 0, "timeout": 3, "min_idle": 0}
    settings.configure(
        DATABASES={
            "default": pooled_database("cut_link", {**pool, "tcp_keepalive": KEEPALIVE}),
            "bare": pooled_database("cut_link", {**pool, "tcp_keepalive": None}),
        },
        USE_TZ=True,
    )
    django.setup()
    from django.db import connections, transaction

    def outcome(
        alias: str, sql: str, into: dict[str, Any], together: threading.Barrier | None = None
    ) -> None:
        try:
            if together is None:
                into["value"] = scalar(connections[alias], sql)
            else:
                with transaction.atomic(using=alias):
                    into["value"] = scalar(connections[alias], sql)
                    together.wait(10)  # each caller holds its own connection meanwhile
        except Exception as exc:
            into["code"] = exc.args[0] if exc.args and isinstance(exc.args[0], int) else repr(exc)
        into["ended"] = time.monotonic()
        connections.close_all()

    # Three idle pooled connections: three transactions held open at once, then committed.
    barrier = threading.Barrier(3)

    def hold() -> None:
        with transaction.atomic():
            scalar(connections["default"], "SELECT 1")
            barrier.wait(10)
        connections.close_all()

    holders = [threading.Thread(target=hold) for _ in range(3)]
    for thread in holders:
        thread.start()
    for thread in holders:
        thread.join(20)
    stats_before = connections["default"].pool_stats()

    # A statement waiting on each pool when the link goes: one with keepalive, one without.
    sleeping = "SELECT SLEEP(%d)" % QUERY_SECONDS
    kept: dict[str, Any] = {}
    bare: dict[str, Any] = {}
    workers = [
        threading.Thread(target=outcome, args=("default", sleeping, kept)),
        threading.Thread(target=outcome, args=("bare", sleeping, bare)),
    ]
    for thread in workers:
        thread.start()
    admin = admin_connect()
    running = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO = %s"
    eventually(
        lambda: fetch_all(admin, running, (sleeping,))[0][0] == 2,
        what="both statements to run on the server",
    )
    admin.close()
    link("down")
    cut = time.monotonic()
    workers[0].join(30)
    kept_after = (kept["ended"] - cut) if "ended" in kept else None
    # The statement without keepalive is still waiting though the server finished it.
    bare_stuck = "ended" not in bare
    link("up")
    workers[1].join(60)

    # After the network returns, every caller succeeds; the idle connections that keepalive
    # found dead are replaced, not handed out. Four callers at once need four connections.
    results: list[dict[str, Any]] = [{} for _ in range(4)]
    together = threading.Barrier(4)
    after = [
        threading.Thread(target=outcome, args=("default", "SELECT 7", into, together))
        for into in results
    ]
    for thread in after:
        thread.start()
    for thread in after:
        thread.join(20)
    stats_after = connections["default"].pool_stats()
    return {
        "kept_code": kept.get("code"),
        "kept_after": kept_after,
        "bare_stuck": bare_stuck,
        "bare": bare.get("value", bare.get("code")),
        "after": [r.get("value", r.get("code")) for r in results],
        "idle_before": stats_before["idle"],
        "replaced": stats_after["connects"] - stats_before["connects"],
        "in_use": stats_after["in_use"],
        "open": stats_after["open"],
    }


def outer() -> dict[str, Any]:
    from tests.support.mariadb_server import URL_ENV, ThrowawayMariaDB

    link("up")
    observed: dict[str, Any] = {}
    with ThrowawayMariaDB(max_connections=50) as server:
        import MySQLdb

        admin = MySQLdb.connect(host=server.host, port=server.port, user=server.user)
        admin.cursor().execute("CREATE DATABASE cut_link")
        admin.close()
        for mode in MODES:
            result = subprocess.run(
                [sys.executable, __file__, "--mode", mode],
                env={**os.environ, URL_ENV: server.url},
                capture_output=True,
                text=True,
                timeout=180,
            )
            if result.returncode != 0:
                observed[mode] = {"error": result.stderr[-3000:]}
            else:
                observed[mode] = json.loads(result.stdout.strip().splitlines()[-1])
    return observed


if __name__ == "__main__":
    print(json.dumps(child() if "--mode" in sys.argv else outer()))
