"""Idioms that turn statement leases into request-long holds, under gevent with 200 greenlets.

    python -m tests.support.mariadb_server run -- python benchmarks/session_pins.py

(`make bench-pins` does this; docs/benchmarks.md has the scenario and the numbers.) Each
variant runs in its own process, monkey-patched before any import, with this ENGINE
(cooperative mysqlclient, ``{"pool_size": 5, "max_overflow": 5}``). 200 greenlets each run
requests in a closed loop, as a Gunicorn gevent worker's keep-alive clients do: Django's
``request_started`` signal, a primary-key SELECT, a 100 ms upstream call (``gevent.sleep``),
another primary-key SELECT, ``request_finished`` (which closes the Django connection). The
variants add one idiom each:

  plain        nothing;
  on-connect   a ``connection_created`` receiver runs ``SET time_zone = '+03:00'``;
  middleware   each request starts with ``SET time_zone = %s``, a per-user zone;
  warnings     the first statement is ``SELECT CAST('12abc' AS SIGNED)`` (leaves a warning);
  stock-age60  (reference) the stock backend, ``CONN_MAX_AGE=60``, plain requests: one server
               connection per greenlet, mysqlclient blocking the process for each statement.

Prints requests/s over a window after a warm-up, the ratio to the plain variant of the same
round (the median over rounds), the peak of the server's ``Threads_connected`` while the
variant ran (less the connections open before it, this script's monitor among them), errors,
and, per request, the pool's session pins and the time spent waiting for a connection. Rounds
run the variants in alternating order. It prints numbers and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DB = "pooled_pins_bench"
ROWS = 1000
POOL = {"pool_size": 5, "max_overflow": 5}
# The per-user zones of the middleware variant, one per request in turn.
ZONES = ("+00:00", "+03:00", "-05:00")
VARIANTS = ("plain", "on-connect", "middleware", "warnings", "stock-age60")
SELECT = "SELECT id, name FROM bench WHERE id = %s"


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """Runs in the monkey-patched process: one variant's closed loop, its counts and stats."""
    import gevent
    import gevent.event

    sys.path.insert(0, str(ROOT))
    import django
    from django.conf import settings

    from tests.settings import SERVER, pooled_database

    variant = spec["variant"]
    if variant == "stock-age60":
        database = {
            "ENGINE": "django.db.backends.mysql",
            "NAME": DB,
            **SERVER,
            "CONN_MAX_AGE": 60,
        }
    else:
        database = pooled_database(DB, POOL)
    settings.configure(DATABASES={"default": database}, USE_TZ=True)
    django.setup()
    from django.core import signals
    from django.db import connection
    from django.db.backends.signals import connection_created

    if variant == "on-connect":

        def set_time_zone(sender: Any, connection: Any, **kwargs: Any) -> None:
            with connection.cursor() as cursor:
                cursor.execute("SET time_zone = '+03:00'")

        connection_created.connect(set_time_zone)

    first_sql = "SELECT CAST('12abc' AS SIGNED)" if variant == "warnings" else SELECT
    pause = spec["pause_ms"] / 1000

    def run(sql: str, args: Any = None) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, args)
            cursor.fetchall()

    def request(n: int) -> None:
        # What Django's handler does around a view: request_started and request_finished
        # both call close_old_connections() (which closes a connection with CONN_MAX_AGE=0).
        signals.request_started.send(sender=None)
        try:
            if variant == "middleware":
                run("SET time_zone = %s", [ZONES[n % len(ZONES)]])
            run(first_sql, None if variant == "warnings" else [n % ROWS + 1])
            gevent.sleep(pause)  # the upstream HTTP call
            run(SELECT, [(n * 7) % ROWS + 1])
        finally:
            signals.request_finished.send(sender=None)

    stop = gevent.event.Event()
    finished: list[float] = []
    errors: Counter[str] = Counter()
    clients = spec["clients"]

    def client(i: int) -> None:
        n = i
        while not stop.is_set():
            try:
                request(n)
            except Exception as exc:
                errors[type(exc).__name__] += 1
            else:
                finished.append(time.perf_counter())
            n += clients

    def pool_counters() -> dict[str, float]:
        if variant == "stock-age60":
            return {}
        from django_pooled_mysql import pool_stats

        stats = pool_stats()
        return {key: stats[key] for key in ("session_pins", "wait_seconds")}

    greenlets = [gevent.spawn(client, i) for i in range(clients)]
    gevent.sleep(spec["warmup"])
    started = time.perf_counter()
    gevent.sleep(spec["seconds"])
    ended = time.perf_counter()
    stop.set()
    # Each greenlet ends its request; a request held up in a slow variant takes a few seconds.
    gevent.joinall(greenlets, timeout=60)
    done = sum(1 for t in finished if started <= t < ended)
    return {
        "requests": done,
        "per_s": done / (ended - started),
        "errors": dict(errors),
        # The pool's counters over the whole run (warm-up and the end included), per request.
        "counters": {key: value / max(1, len(finished)) for key, value in pool_counters().items()},
    }


def prepare() -> None:
    """A fresh database with a 1,000-row table (MariaDB's SEQUENCE engine fills it)."""
    sys.path.insert(0, str(ROOT))
    from tests.settings import admin_connect

    admin = admin_connect()
    cursor = admin.cursor()
    cursor.execute("DROP DATABASE IF EXISTS %s" % DB)
    cursor.execute("CREATE DATABASE %s" % DB)
    cursor.execute(
        "CREATE TABLE %s.bench (id INT PRIMARY KEY, name VARCHAR(50)) "
        "SELECT seq AS id, CONCAT('row ', seq) AS name FROM %s.seq_1_to_%d" % (DB, DB, ROWS)
    )
    admin.close()


class Monitor:
    """Samples the server's Threads_connected from its own connection, in a thread."""

    def __init__(self) -> None:
        from tests.settings import admin_connect

        self.connection = admin_connect()
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def threads_connected(self) -> int:
        cursor = self.connection.cursor()
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Threads_connected'")
        return int(cursor.fetchone()[1])

    def variable(self, name: str) -> int:
        cursor = self.connection.cursor()
        cursor.execute("SELECT @@GLOBAL.%s" % name)
        return int(cursor.fetchone()[0])

    def settle(self, baseline: int, deadline: float = 10.0) -> int:
        """Wait until a previous run's connections are gone; the connections open now."""
        until = time.monotonic() + deadline
        while (now := self.threads_connected()) > baseline and time.monotonic() < until:
            time.sleep(0.05)
        return now

    def start(self) -> None:
        self.peak = 0
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def stop(self) -> int:
        """The peak since start()."""
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        return self.peak

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.threads_connected())
            self._stop.wait(0.05)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=4.0, help="measured per variant, round")
    parser.add_argument("--warmup", type=float, default=1.5, help="before each measurement")
    parser.add_argument("--rounds", type=int, default=2, help="variants in alternating order")
    parser.add_argument("--clients", type=int, default=200, help="greenlets")
    parser.add_argument("--pause-ms", type=float, default=100.0, help="the upstream call")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help="comma-separated, from: %(default)s"
    )
    args = parser.parse_args()
    if args.child:
        from gevent import monkey

        monkey.patch_all()
        print(json.dumps(child(json.loads(args.child))))
        return 0
    variants = [name for name in args.variants.split(",") if name]
    unknown = set(variants) - set(VARIANTS)
    if unknown or "plain" not in variants:
        parser.error("--variants: 'plain' and names from %s" % ", ".join(VARIANTS))
    sys.path.insert(0, str(ROOT))
    prepare()
    monitor = Monitor()
    baseline = monitor.threads_connected()
    if "stock-age60" in variants and monitor.variable("max_connections") < args.clients + 10:
        print(
            "stock-age60 skipped: it opens one connection per greenlet (%d), over the server's "
            "max_connections (%d)" % (args.clients, monitor.variable("max_connections"))
        )
        variants.remove("stock-age60")
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    order = list(variants)
    for _ in range(args.rounds):
        for name in order:
            spec = {
                "variant": name,
                "seconds": args.seconds,
                "warmup": args.warmup,
                "clients": args.clients,
                "pause_ms": args.pause_ms,
            }
            before = monitor.settle(baseline)
            monitor.start()
            process = subprocess.run(
                [sys.executable, __file__, "--child", json.dumps(spec)],
                capture_output=True,
                text=True,
            )
            peak = monitor.stop()
            if process.returncode != 0:
                sys.stderr.write(process.stderr)
                raise SystemExit("variant %s failed (exit status %d)" % (name, process.returncode))
            result = json.loads(process.stdout.strip().splitlines()[-1])
            result["peak"] = peak - before
            runs[name].append(result)
        order.reverse()
    import django

    print(
        "gevent, %d greenlets, %.0f ms upstream call, pool %s; %d rounds of %g s per variant "
        "(medians); python %s, django %s, mysqlclient %s"
        % (
            args.clients,
            args.pause_ms,
            json.dumps(POOL),
            args.rounds,
            args.seconds,
            sys.version.split()[0],
            django.__version__,
            metadata.version("mysqlclient"),
        )
    )
    print(
        "%-12s %8s %9s %11s %8s %9s %12s"
        % ("variant", "req/s", "vs plain", "peak conns", "errors", "pins/req", "wait ms/req")
    )
    plain = runs["plain"]
    for name, results in runs.items():
        errors: Counter[str] = Counter()
        for result in results:
            errors.update(result["errors"])

        def per_request(
            key: str, scale: float = 1.0, results: list[dict[str, Any]] = results
        ) -> str:
            if not results[0]["counters"]:
                return "-"
            return "%.1f" % statistics.median(r["counters"][key] * scale for r in results)

        print(
            "%-12s %8.0f %8.2fx %11d %8s %9s %12s"
            % (
                name,
                statistics.median(r["per_s"] for r in results),
                statistics.median(
                    r["per_s"] / p["per_s"] for r, p in zip(results, plain, strict=True)
                ),
                max(r["peak"] for r in results),
                " ".join("%s x%d" % item for item in errors.items()) or "0",
                per_request("session_pins"),
                per_request("wait_seconds", 1000),
            )
        )
    print(
        "(req/s: requests finished in the measured window; vs plain: the median of each round's "
        "ratio; peak conns: the server's Threads_connected, less those open before the variant "
        "started; pins/req, wait ms/req: the pool's session_pins and wait_seconds over the whole "
        "run, per request)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
