"""mysqlclient blocking vs mysqlclient cooperative vs PyMySQL, under gevent with 100 greenlets.

    python -m tests.support.mariadb_server run -- python benchmarks/gevent_compare.py

(`make bench-gevent` does this.) Each mode runs in its own process, monkey-patched before any
import, with this ENGINE and a pool of 20 connections:

  (a) 100 greenlets each run SELECT SLEEP(0.05): wall time (ideal: 5 waves x 50 ms = 0.25 s);
  (b) 5,000 primary-key SELECTs spread over 100 greenlets: statements per second (CPU-bound);
  (c) the cost of opening one connection, and whether other greenlets ran meanwhile.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODES = {
    "mysqlclient blocking": {"driver": "mysqlclient", "cooperative": False},
    "mysqlclient cooperative": {"driver": "mysqlclient", "cooperative": True},
    "PyMySQL": {"driver": "pymysql", "cooperative": True},
}


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """Runs in the monkey-patched process: the three measurements for one mode."""
    import gevent
    import gevent.event

    sys.path.insert(0, str(ROOT))
    from tests.support import pymysql_shim

    pymysql_shim.use(spec["driver"])
    import django
    from django.conf import settings

    from tests.settings import pooled_database

    pool = {"pool_size": 20, "max_overflow": 0, "cooperative": spec["cooperative"]}
    settings.configure(DATABASES={"default": pooled_database(spec["db"], pool)}, USE_TZ=True)
    django.setup()
    from django.db import connection

    def run(sql: str, args: Any = None) -> Any:
        with connection.cursor() as cursor:
            cursor.execute(sql, args)
            return cursor.fetchall()

    def in_greenlets(count: int, work: Any) -> float:
        started = time.perf_counter()
        gevent.joinall([gevent.spawn(work, i) for i in range(count)], raise_error=True)
        return time.perf_counter() - started

    # (c) connect cost, with a ticker that only runs if the hub is free.
    ticks = [0]
    stop = gevent.event.Event()

    def ticker() -> None:
        while not stop.is_set():
            ticks[0] += 1
            gevent.sleep(0.001)

    tick = gevent.spawn(ticker)
    pool_object = connection.get_pool()
    started = time.perf_counter()
    records = [pool_object.checkout()[0] for _ in range(20)]
    connect_ms = (time.perf_counter() - started) / 20 * 1000
    stop.set()
    tick.join()
    for record in records:
        pool_object.checkin(record)

    in_greenlets(100, lambda i: run("SELECT SLEEP(0.001)"))  # warm-up
    sleep_wall = in_greenlets(100, lambda i: run("SELECT SLEEP(0.05)"))

    def pk_queries(i: int) -> None:
        for n in range(50):
            run("SELECT id, name FROM bench WHERE id = %s", [(i * 50 + n) % 1000 + 1])

    pk_wall = in_greenlets(100, pk_queries)
    return {
        "sleep_wall_s": sleep_wall,
        "pk_per_s": 5000 / pk_wall,
        "connect_ms": connect_ms,
        "ticks_during_connects": ticks[0],
    }


def prepare(db: str) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.settings import admin_connect

    admin = admin_connect()
    cursor = admin.cursor()
    cursor.execute("DROP DATABASE IF EXISTS %s" % db)
    cursor.execute("CREATE DATABASE %s" % db)
    cursor.execute(
        "CREATE TABLE %s.bench (id INT PRIMARY KEY, name VARCHAR(50)) "
        "SELECT seq AS id, CONCAT('row ', seq) AS name FROM %s.seq_1_to_1000" % (db, db)
    )
    admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=3, help="runs per mode (median reported)")
    args = parser.parse_args()
    if args.child:
        from gevent import monkey

        monkey.patch_all()
        print(json.dumps(child(json.loads(args.child))))
        return 0
    db = "pooled_gevent_bench"
    prepare(db)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in MODES}
    for _ in range(args.rounds):
        for name, mode in MODES.items():
            spec = json.dumps({**mode, "db": db})
            out = subprocess.run(
                [sys.executable, __file__, "--child", spec],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results[name].append(json.loads(out.strip().splitlines()[-1]))
    print("gevent, 100 greenlets, pool of 20; median of %d runs per mode" % args.rounds)
    print(
        "%-26s %14s %14s %12s %10s"
        % ("mode", "100xSLEEP(.05)", "PK SELECT/s", "connect ms", "hub ticks")
    )
    for name, runs in results.items():

        def median(key: str, runs: list[dict[str, Any]] = runs) -> float:
            values = sorted(run[key] for run in runs)
            return float(values[len(values) // 2])

        print(
            "%-26s %13.2fs %14.0f %12.2f %10.0f"
            % (
                name,
                median("sleep_wall_s"),
                median("pk_per_s"),
                median("connect_ms"),
                median("ticks_during_connects"),
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
