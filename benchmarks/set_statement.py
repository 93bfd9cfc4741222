"""Replaying a session variable: a separate SET before the statement, or MariaDB's SET STATEMENT.

A statement whose leased connection lacks its Django connection's session variables is preceded
by one ``SET`` (lease/variables.py): a second round trip, after which the connection keeps the
value. MariaDB's ``SET STATEMENT time_zone = '+03:00' FOR <statement>`` gives the value to that
statement only, in the same round trip, and leaves nothing behind. This measures, on one raw
mysqlclient connection (no pool, no Django), in alternating rounds:

- ``plain``: ``SELECT @@time_zone, 1`` alone;
- ``separate SET``: ``SET time_zone = ...`` then the SELECT (the replay as it is done);
- ``SET STATEMENT``: ``SET STATEMENT time_zone = ... FOR`` the SELECT.

    python -m tests.support.mariadb_server run -- taskset -c 0 python benchmarks/set_statement.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.settings import admin_connect  # imports the test driver first

SELECT = "SELECT @@time_zone, 1"
ZONES = ("'+03:00'", "'-05:00'")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    conn = admin_connect()
    turn = [0]

    def run(sql: str) -> None:
        conn.query(sql)
        result = conn.store_result()
        if result is not None:
            result.fetch_row(0)

    def zone() -> str:
        # A different value each time, as when users with different zones share connections.
        turn[0] += 1
        return ZONES[turn[0] % 2]

    def separate() -> None:
        run("SET time_zone = %s" % zone())
        run(SELECT)

    variants: dict[str, Callable[[], None]] = {
        "plain": lambda: run(SELECT),
        "separate SET": separate,
        "SET STATEMENT": lambda: run("SET STATEMENT time_zone = %s FOR %s" % (zone(), SELECT)),
    }
    timings: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, function in variants.items():
            for _ in range(100):
                function()
            started = time.perf_counter()
            for _ in range(args.calls):
                function()
            timings[name].append((time.perf_counter() - started) / args.calls * 1e6)
    plain = statistics.median(timings["plain"])
    print("one raw mysqlclient connection, loopback; median of %d rounds" % args.rounds)
    print("%-15s %10s %8s" % ("variant", "us/stmt", "vs plain"))
    for name, values in timings.items():
        median = statistics.median(values)
        print("%-15s %10.1f %7.2fx" % (name, median, median / plain))
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
