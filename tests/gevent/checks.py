"""Scenarios run under gevent in a fresh process (monkey-patching must come before imports).

    python tests/gevent/checks.py '{"scenario": "sleep", "db": "...", "cooperative": true}'

Prints one JSON line with what the scenario observed; tests/integration/test_gevent.py asserts.
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support import pymysql_shim  # noqa: E402

SPEC = json.loads(sys.argv[1])
pymysql_shim.use(SPEC.get("driver", "mysqlclient"))

import django  # noqa: E402
import gevent  # noqa: E402
from django.conf import settings  # noqa: E402

from tests.settings import admin_connect, pooled_database  # noqa: E402
from tests.support import helpers  # noqa: E402
from tests.support.helpers import eventually  # noqa: E402

POOL = {"pool_size": 20, "max_overflow": 0, "cooperative": SPEC.get("cooperative", True)}
POOL.update(SPEC.get("pool", {}))
EXTRA: dict[str, Any] = {"PASSWORD": SPEC["password"]} if "password" in SPEC else {}
DRIVER_OPTIONS: dict[str, Any] = {}
PROXY = None
if "proxy_upstream" in SPEC:
    # The statements go through a proxy the scenario can silence (tests/support/tcp_proxy.py).
    from tests.support.tcp_proxy import TcpProxy

    PROXY = TcpProxy(*SPEC["proxy_upstream"])
    EXTRA.update(HOST=PROXY.host, PORT=str(PROXY.port))
    DRIVER_OPTIONS.update(read_timeout=2, write_timeout=2, connect_timeout=2)
DRIVER_OPTIONS.update(SPEC.get("driver_options", {}))
settings.configure(
    DATABASES={"default": pooled_database(SPEC["db"], POOL, DRIVER_OPTIONS, **EXTRA)},
    USE_TZ=True,
)
django.setup()

from django.db import connection, transaction  # noqa: E402

import django_pooled_mysql  # noqa: E402


def rows(sql: str, args: Any = None) -> Any:
    """The rows of one statement on this greenlet's connection, as lists (for the JSON output)."""
    return [list(row) for row in helpers.rows(connection, sql, args)]


def session() -> int:
    """The server session that runs this statement (CONNECTION_ID() would pin the connection)."""
    return helpers.session_id(connection)


def settled_stats(deadline: float = 10.0) -> dict[str, Any]:
    """pool_stats() once no place is in use or being cancelled (an interrupted statement's
    session is cancelled with one of the pool's own connections, briefly in use); fails at the
    deadline."""

    def settled() -> bool:
        stats = django_pooled_mysql.pool_stats()
        return not (stats["in_use"] or stats["cancelling"])

    eventually(
        settled,
        deadline,
        lambda: "the pool to settle: %r" % django_pooled_mysql.pool_stats(),
        interval=0.01,
    )
    return django_pooled_mysql.pool_stats()


def error_of(func: Any) -> Any:
    try:
        func()
    except Exception as exc:
        cause = exc.__cause__ or exc
        return [type(exc).__name__, getattr(cause, "args", [None])[0]]
    return None


class Ticker:
    """A greenlet that counts a turn every ``period`` seconds: how freely the hub ran while it
    ticked (a hub blocked in C stops the count)."""

    def __init__(self, period: float) -> None:
        self.count = 0
        self._stop = gevent.event.Event()
        self._greenlet = gevent.spawn(self._run, period)

    def _run(self, period: float) -> None:
        while not self._stop.is_set():
            self.count += 1
            gevent.sleep(period)

    def stop(self) -> int:
        self._stop.set()
        self._greenlet.join()
        return self.count


def in_greenlets(count: int, work: Any) -> float:
    started = time.perf_counter()
    gevent.joinall([gevent.spawn(work, i) for i in range(count)], raise_error=True)
    return time.perf_counter() - started


def sleep() -> dict[str, Any]:
    # A first round opens the 20 connections (PyMySQL spends ~20 ms of CPU per connect on a TLS
    # context); the second round measures statements only.
    in_greenlets(20, lambda i: rows("SELECT SLEEP(0.01)"))
    elapsed = in_greenlets(20, lambda i: rows("SELECT SLEEP(0.2)"))
    return {"elapsed": elapsed}


def ticks() -> dict[str, Any]:
    rows("SELECT 1")
    ticker = Ticker(0.01)
    elapsed = in_greenlets(10, lambda i: rows("SELECT SLEEP(0.05)"))
    count = ticker.stop()
    stats = django_pooled_mysql.pool_stats()
    return {"elapsed": elapsed, "ticks": count, "wait_count": stats["wait_count"]}


def semantics() -> dict[str, Any]:
    out: dict[str, Any] = {}
    out["select"] = rows("SELECT 1, 'two', NULL UNION ALL SELECT 3, 'four', 5.5")
    out["syntax_error"] = error_of(lambda: rows("SELEC 1"))
    rows("INSERT INTO hits (id, worker) VALUES (1, 1)")
    out["duplicate"] = error_of(lambda: rows("INSERT INTO hits (id, worker) VALUES (1, 2)"))
    with connection.cursor() as cursor:
        cursor.execute("CALL two_sets()")
        first = [list(r) for r in cursor.fetchall()]
        cursor.nextset()
        out["procedure"] = [first, [list(r) for r in cursor.fetchall()]]
    try:
        with transaction.atomic():
            rows("INSERT INTO hits (worker) VALUES (10)")
            raise RuntimeError
    except RuntimeError:
        pass
    with transaction.atomic():
        rows("INSERT INTO hits (worker) VALUES (11)")
    out["committed"] = rows("SELECT worker FROM hits ORDER BY id")
    out["warning_sql"] = rows("SELECT CAST('12abc' AS SIGNED)")
    if SPEC.get("multi", True):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1; SELECT 2")
            out["multi"] = [cursor.fetchall()[0][0], cursor.nextset() and cursor.fetchall()[0][0]]
    victim = session()

    def kill_when_running() -> None:
        # In a native thread: with blocking mysqlclient the hub itself is stuck in the query.
        admin = admin_connect()
        cursor = admin.cursor()
        deadline = time.monotonic() + 30
        while not cursor.execute(
            "SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = %s AND INFO LIKE %s",
            (victim, "%SLEEP(5)%"),
        ):
            if time.monotonic() > deadline:
                raise AssertionError("the statement never showed in the processlist")
        cursor.execute("KILL CONNECTION %d" % victim)
        admin.close()

    killer = gevent.get_hub().threadpool.spawn(kill_when_running)
    with django_pooled_mysql.pinned():
        assert session() == victim
        out["killed_mid_wait"] = error_of(lambda: rows("SELECT SLEEP(5)"))
    killer.get()
    out["after_kill"] = rows("SELECT 42")
    return out


def timeouts() -> dict[str, Any]:
    out: dict[str, Any] = {}
    first = session()
    try:
        with gevent.Timeout(0.2):
            rows("SELECT SLEEP(3)")
        out["statement_timeout"] = False
    except gevent.Timeout:
        out["statement_timeout"] = True
    out["new_connection"] = session() != first
    out["after_statement_timeout"] = rows("SELECT 7")
    holder_started = gevent.event.Event()
    release = gevent.event.Event()

    def holder() -> None:
        with transaction.atomic():
            rows("SELECT 1")
            holder_started.set()
            release.wait()
        connection.close()

    hold = gevent.spawn(holder)
    holder_started.wait()
    try:
        with gevent.Timeout(0.2):
            rows("SELECT 8")  # pool_size 1: waits for the holder's connection
        out["wait_timeout"] = False
    except gevent.Timeout:
        out["wait_timeout"] = True
    release.set()
    hold.join()
    stats = settled_stats()
    out["in_use"] = stats["in_use"]
    out["waiting"] = stats["waiting"]
    out["invalidations"] = stats["invalidations"]
    out["after_wait_timeout"] = rows("SELECT 9")
    return out


def connect_cost() -> dict[str, Any]:
    ticker = Ticker(0.001)
    started = time.perf_counter()
    holders = []
    for _ in range(10):
        django_pooled_mysql.pinned().__enter__  # noqa: B018 (keeps the API imported)
        holders.append(connection.get_pool().checkout()[0])
    elapsed = time.perf_counter() - started
    count = ticker.stop()
    for record in holders:
        connection.get_pool().checkin(record)
    return {"per_connect_ms": elapsed / 10 * 1000, "ticks_during": count}


def abandoned() -> dict[str, Any]:
    # Greenlets that end while pinned, without closing their Django connection (issue 12). The
    # cyclic garbage collector is off: recovery must not depend on it.
    import gc

    gc.disable()
    cap = POOL["pool_size"] + POOL["max_overflow"]

    def pin(i: int) -> None:
        kind = i % 3
        if kind == 0:
            rows("SELECT GET_LOCK(%s, 0)", ["greenlet-%d" % i])
        elif kind == 1:
            rows("SET @abandoned = %s", [i])
        else:
            connection.set_autocommit(False)
            rows("INSERT INTO hits (worker) VALUES (%s)", [i])

    peak = [0]
    stop = gevent.event.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], django_pooled_mysql.pool_stats()["open"])
            gevent.sleep(0.001)

    sampler = gevent.spawn(sample)
    for i in range(cap + 3):
        gevent.spawn(pin, i).join()
    after = rows("SELECT 1")  # PoolTimeout here before the fix
    eventually(
        lambda: django_pooled_mysql.pool_stats()["abandoned"] >= cap + 3,
        what=lambda: "%d abandoned leases: %r" % (cap + 3, django_pooled_mysql.pool_stats()),
        interval=0.01,
    )
    stop.set()
    sampler.join()
    stats = django_pooled_mysql.pool_stats()
    admin = admin_connect()
    cursor = admin.cursor()
    cursor.execute("SELECT IS_FREE_LOCK('greenlet-0'), IS_FREE_LOCK('greenlet-%d')" % (cap,))
    locks_free = list(cursor.fetchone())
    admin.close()
    return {
        "after": after,
        "abandoned": stats["abandoned"],
        "in_use": stats["in_use"],
        "peak_open": peak[0],
        "cap": cap,
        "locks_free": locks_free,
        "uncommitted": rows("SELECT COUNT(*) FROM hits")[0][0],
    }


def housekeeping() -> dict[str, Any]:
    # The housekeeper under gevent: a greenlet of this OS thread, whose pings and closes leave
    # the hub free (a ticker keeps ticking), shrinking the pool to min_idle after a burst.
    import threading

    from django_pooled_mysql.pool import housekeeping as keeper

    def burst(i: int) -> None:
        with transaction.atomic():
            rows("SELECT SLEEP(0.05)")
        connection.close()

    in_greenlets(POOL["pool_size"] + POOL["max_overflow"], burst)
    peak = django_pooled_mysql.pool_stats()["open"]
    ticker = Ticker(0.005)
    eventually(
        lambda: django_pooled_mysql.pool_stats()["open"] <= POOL["min_idle"],
        what=lambda: "the pool to shrink to min_idle: %r" % django_pooled_mysql.pool_stats(),
        interval=0.05,
    )
    native_ids = []
    done = gevent.event.Event()

    def where() -> None:
        native_ids.append(threading.get_native_id())
        done.set()

    keeper.running.submit(where)
    assert done.wait(5), "the housekeeper did not run a submitted job within 5 s"
    count = ticker.stop()
    stats = django_pooled_mysql.pool_stats()
    return {
        "peak": peak,
        "open": stats["open"],
        "keepalive_pings": stats["keepalive_pings"],
        "closed_idle": stats["closed_idle"],
        "ticks": count,
        "same_os_thread": native_ids == [threading.get_native_id()],
    }


def partition() -> dict[str, Any]:
    # Statements waiting on a silent network: each fails at read_timeout with the driver's
    # error, the waits overlap, and the hub keeps running meanwhile.
    assert PROXY is not None
    for _ in range(4):
        gevent.spawn(lambda: rows("SELECT 1")).join()
    in_greenlets(4, lambda i: rows("SELECT SLEEP(0.01)"))  # four open connections
    ticker = Ticker(0.005)
    PROXY.set(SPEC.get("fault", "blackhole"))
    outcomes: list[Any] = []

    def stuck(i: int) -> None:
        started = time.monotonic()
        code = error_of(lambda: rows("SELECT 2"))
        outcomes.append((code[1] if code else None, time.monotonic() - started))
        connection.close()

    elapsed = in_greenlets(4, stuck)
    count = ticker.stop()
    PROXY.set("forward")
    after = rows("SELECT 7")
    PROXY.stop()
    return {
        "codes": [code for code, _ in outcomes],
        "longest": max(took for _, took in outcomes),
        "elapsed": elapsed,
        "ticks": count,
        "after": after,
    }


def later_results() -> dict[str, Any]:
    # The later result sets of a multi-statement are waited for off the hub: a ticker greenlet
    # keeps running while the server works on the second statement; read_timeout still ends
    # that wait with the driver's error, and gevent.Timeout interrupts it.
    rows("SELECT 1")

    def multi(sql: str) -> Any:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            seen = [[list(row) for row in cursor.fetchall()]]
            while cursor.nextset():
                seen.append([list(row) for row in cursor.fetchall()])
            return seen

    ticker = Ticker(0.01)
    started = time.perf_counter()
    out: dict[str, Any] = {"sets": multi("SELECT 1; SELECT SLEEP(0.5); SELECT 3")}
    out["elapsed"] = time.perf_counter() - started
    out["ticks"] = ticker.stop()
    started = time.perf_counter()
    out["read_timeout"] = error_of(lambda: multi("SELECT 1; SELECT SLEEP(5)"))
    out["read_timeout_after"] = time.perf_counter() - started
    started = time.perf_counter()
    try:
        with gevent.Timeout(0.3):
            # Not interrupted: the blocking driver's wait ends at read_timeout, in C.
            out["interrupted"] = error_of(lambda: multi("SELECT 1; SELECT SLEEP(5)"))
    except gevent.Timeout:
        out["interrupted"] = "gevent.Timeout"
    out["interrupted_after"] = time.perf_counter() - started
    out["after"] = rows("SELECT 42")
    out["in_use"] = settled_stats()["in_use"]
    return out


def refused_connect() -> dict[str, Any]:
    codes = [error_of(lambda: rows("SELECT 1")) for _ in range(3)]
    return {"codes": codes}


def session_variables() -> dict[str, Any]:
    # 60 requests on a pool of 3: each sets its own time zone (a per-user middleware) and checks
    # it around a cooperative wait; one in three also leaves a warning and reads it back after
    # the wait. Nothing pins, no request waits on an idle one, every answer is its own.
    zones = ["+0%d:00" % (i % 10) for i in range(60)]
    wrong: list[Any] = []
    peak = [0]

    held: list[int] = []

    def request(i: int) -> None:
        rows("SET time_zone = %s", [zones[i]])
        for _ in range(3):
            got = rows("SELECT @@SESSION.time_zone")[0][0]
            peak[0] = max(peak[0], django_pooled_mysql.pool_stats()["in_use"])
            if i % 3 == 0:
                rows("SELECT CAST(%s AS SIGNED)", ["%dabc" % i])
            if connection.connection.pinned_connection() is not None:
                held.append(i)  # would keep a connection through the wait below
            gevent.sleep(0.02)
            if i % 3 == 0:
                warnings = rows("SHOW WARNINGS")
                if [row[2] for row in warnings] != [
                    "Truncated incorrect INTEGER value: '%dabc'" % i
                ]:
                    wrong.append((i, warnings))
            if got != zones[i]:
                wrong.append((i, got))
        connection.close()

    elapsed = in_greenlets(60, request)
    stats = settled_stats()
    return {
        "wrong": wrong,
        "held": held,
        "elapsed": elapsed,
        "session_pins": stats["session_pins"],
        "peak_in_use": peak[0],
        "timeouts": stats["timeouts"],
        "replays": stats["variable_replays"],
    }


def holders() -> dict[str, Any]:
    # holders() names the greenlet holding a pin, and a signal logs them in a gevent process
    # (the housekeeper is a greenlet) while the greenlet still holds its transaction.
    import logging
    import os
    import signal

    taken = gevent.event.Event()
    done = gevent.event.Event()

    def hold() -> None:
        with transaction.atomic():
            rows("SELECT COUNT(*) FROM hits")
            taken.set()
            done.wait(10)

    holder = gevent.spawn(hold)
    holder.name = "holder-greenlet"
    taken.wait(10)
    [report] = django_pooled_mysql.holders()
    logged = gevent.event.Event()
    messages: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())
            logged.set()

    logging.getLogger("django_pooled_mysql").addHandler(Catch())
    django_pooled_mysql.log_holders_on_signal(signal.SIGUSR2)
    os.kill(os.getpid(), signal.SIGUSR2)
    logged.wait(10)
    done.set()
    holder.join(10)
    [lease] = report["pinned"]
    return {
        "holder": lease["holder"],
        "holder_is_the_greenlet": lease["holder_id"] == gevent.thread.get_ident(holder),
        "kind": lease["kind"],
        "logged": [m for m in messages if "holders in process" in m],
    }


SCENARIOS = {
    "session_variables": session_variables,
    "holders": holders,
    "abandoned": abandoned,
    "partition": partition,
    "housekeeping": housekeeping,
    "refused_connect": refused_connect,
    "later_results": later_results,
    "sleep": sleep,
    "ticks": ticks,
    "semantics": semantics,
    "timeouts": timeouts,
    "connect": connect_cost,
}

if __name__ == "__main__":
    print(json.dumps(SCENARIOS[SPEC["scenario"]](), default=repr))
