"""What a request that leaves session state costs: reset in place against close + reconnect.

A request that pins its connection for session state (here a ``SET @x``, as code that sets a
session variable per request does) hands the connection back reset. mysqlclient resets the
session in place (COM_RESET_CONNECTION, then the pool's session settings again: connect.py);
the alternative, and PyMySQL's way, is to close it and connect again. Both run in one process
in alternating turns (see overhead.time_pair()), with an ``init_command`` and an isolation level
to replay, and the cost per request is printed, with the plain request (no session state) for
reference.

    python -m tests.support.mariadb_server run -- python benchmarks/session_reset.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import django
from django.conf import settings

OPTIONS = {
    "init_command": "SET SESSION lock_wait_timeout = 5",
    "isolation_level": "read committed",
}


def configure() -> None:
    from tests.settings import SERVER

    common = {"NAME": "mysql", **SERVER}

    def pooled(pool: dict[str, object]) -> dict[str, object]:
        return {"ENGINE": "django_pooled_mysql", **common, "OPTIONS": {**OPTIONS, "pool": pool}}

    settings.configure(
        DATABASES={
            # Different pool options give different pools; the sizes are the same.
            "default": pooled({"pool_size": 1, "max_overflow": 0}),
            "reconnect": pooled({"pool_size": 1, "max_overflow": 0, "timeout": 29}),
        },
        INSTALLED_APPS=[],
    )
    django.setup()


def request(alias: str, session_state: bool) -> Callable[[], object]:
    from django.db import connections

    def run() -> object:
        connection = connections[alias]
        with connection.cursor() as cursor:
            if session_state:
                cursor.execute("SET @request_id = 1")
            cursor.execute("SELECT 1")
            row = cursor.fetchone()
        connection.close()  # the end of the request
        return row

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    configure()
    from django.db import connections

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from overhead import time_pair

    # Force the reconnect path on one pool: it then resets as PyMySQL does.
    connections["reconnect"].get_pool()._reset_session = None
    funcs = {
        "reset in place": request("default", True),
        "close + reconnect": request("reconnect", True),
        "no session state": request("default", False),
    }
    for func in funcs.values():
        func()
    rounds = [time_pair(funcs, args.seconds) for _ in range(args.rounds)]
    print("per request, median of %d rounds: wall-clock us, client CPU us" % args.rounds)
    for name in funcs:
        wall = statistics.median(r[name][0] for r in rounds)
        cpu = statistics.median(r[name][1] for r in rounds)
        print("%-20s %8.1f %8.1f" % (name, wall, cpu))
    for alias in ("default", "reconnect"):
        stats = connections[alias].pool_stats()
        print(
            "%-10s resets %d, of which by reconnecting %d, connects %d"
            % (alias, stats["resets"], stats["reset_reconnects"], stats["connects"])
        )


if __name__ == "__main__":
    main()
