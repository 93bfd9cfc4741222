"""Helpers shared by the test folders (unit, integration, faults, and the scenario scripts of
gevent/ and ecosystem/): server inspection, scratch databases, statements, threads, forks and
deadlines. Fixtures built on them are in tests/conftest.py and tests/faults/conftest.py.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.settings import admin_connect  # imports tests.driver before anything imports MySQLdb
from tests.support.mariadb_server import ThrowawayMariaDB

ROOT = Path(__file__).resolve().parents[2]


def fetch_all(conn: Any, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
    """Rows of one statement on a raw DB-API connection (none for statements without rows)."""
    cursor = conn.cursor()
    try:
        cursor.execute(sql, args)
        return list(cursor.fetchall())
    finally:
        cursor.close()


class ServerQueries:
    """What tests read from a server's own tables, given a query() that returns rows."""

    def query(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        """Rows of one statement on an admin connection."""
        raise NotImplementedError

    def connection_ids(self, database: str) -> set[int]:
        """Server thread ids of the connections whose current database is `database`."""
        rows = self.query(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s", (database,)
        )
        return {row[0] for row in rows}

    def global_status(self, name: str) -> int:
        """One numeric global status counter."""
        return int(self.query("SHOW GLOBAL STATUS LIKE %s", (name,))[0][1])


class Admin(ServerQueries):
    """Inspects the test server from outside the pool (processlist, status, KILL)."""

    def __init__(self) -> None:
        self.conn = admin_connect()

    def query(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        """Rows of one statement."""
        return fetch_all(self.conn, sql, args)

    def kill(self, connection_id: int) -> None:
        """KILL CONNECTION, as a DBA or a failover would."""
        self.query("KILL CONNECTION %d" % connection_id)


class FaultServer(ThrowawayMariaDB, ServerQueries):
    """A throwaway server plus helpers for reconfiguring it from tests (tests/faults/)."""

    def admin(self) -> Any:
        """A fresh root connection, not pooled, for inspecting and reconfiguring the server."""
        import MySQLdb

        return MySQLdb.connect(host=self.host, port=self.port, user=self.user, autocommit=True)

    def query(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        """Run one statement on a fresh admin connection (the server may have been restarted
        since the last one) and return its rows."""
        conn = self.admin()
        try:
            return fetch_all(conn, sql, args)
        finally:
            conn.close()

    def set_global(self, name: str, value: object) -> None:
        """SET GLOBAL name = value on this private server."""
        self.query("SET GLOBAL %s = %%s" % name, (value,))

    def settings(self, name: str, **extra: Any) -> dict[str, Any]:
        """A DATABASES entry pointing at this server."""
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": name,
            "HOST": self.host,
            "PORT": str(self.port),
            "USER": self.user,
            "PASSWORD": self.password,
            **extra,
        }


# FIFO over two idle connections: consecutive unpinned statements alternate between them.
ALTERNATING = {"pool_size": 2, "max_overflow": 0, "use_lifo": False}


class Scratch:
    """A private database with the test app's tables, reached through pooled wrappers."""

    def __init__(self, admin: Admin) -> None:
        self.admin = admin
        self.name = "pooled_scratch_%s" % uuid.uuid4().hex[:10]
        self.wrappers: list[Any] = []
        self.aliases: set[str] = set()

    def settings(self, pool: Any = True, **extra: Any) -> dict[str, Any]:
        """A complete settings dict for this database (defaults filled as Django would)."""
        from django.db import connections

        base = dict(connections["default"].settings_dict)
        return {
            **base,
            "ENGINE": "django_pooled_mysql",
            "NAME": self.name,
            "OPTIONS": {**base["OPTIONS"], "pool": pool},
            "CONN_MAX_AGE": 0,
            "TEST": {},
            **extra,
        }

    def wrapper(self, pool: Any = True, alias: str = "scratch", **extra: Any) -> Any:
        """A new Django connection (one per thread, as Django keeps them) on this database."""
        from django_pooled_mysql.base import DatabaseWrapper

        wrapper = DatabaseWrapper(self.settings(pool, **extra), alias)
        self.wrappers.append(wrapper)
        self.aliases.add(alias)
        return wrapper

    def alternating(self) -> Any:
        """A wrapper on a two-connection FIFO pool whose connections are both open and idle.

        Without a pin, consecutive statements land on different connections, so a test of
        pinning fails if the pin is missing.
        """
        options = ALTERNATING
        holders = [self.wrapper(options, alias="alternating") for _ in range(2)]
        for holder in holders:
            holder.set_autocommit(False)
            with holder.cursor() as cursor:
                cursor.execute("SELECT 1")
        for holder in holders:
            holder.commit()
            holder.set_autocommit(True)
        db = self.wrapper(options, alias="alternating")
        ids = [session_id(db), session_id(db)]
        assert ids[0] != ids[1], "the pool should alternate between its two connections"
        return db

    def factory(self, pool: Any = True, alias: str = "scratch") -> Callable[[], Any]:
        """A function returning a new wrapper sharing one pool (same alias and settings)."""
        return lambda: self.wrapper(pool, alias)

    def server_connections(self) -> int:
        """How many server connections are on this database right now."""
        return len(self.admin.connection_ids(self.name))

    def create(self) -> None:
        self.admin.query("CREATE DATABASE %s CHARACTER SET utf8mb4" % self.name)
        from django.db.backends.mysql.base import DatabaseWrapper as StockWrapper

        from tests.testapp.models import Author, Book, Counter

        stock_settings = {**self.settings(), "ENGINE": "django.db.backends.mysql", "OPTIONS": {}}
        stock = StockWrapper(stock_settings, "ddl")
        try:
            with stock.schema_editor() as editor:
                for model in (Author, Book, Counter):
                    editor.create_model(model)
        finally:
            stock.close()

    def destroy(self) -> None:
        from django_pooled_mysql.pool import registry

        for wrapper in self.wrappers:
            wrapper.inc_thread_sharing()
            wrapper.close()
        registry.close_pools(lambda key: key[0] in self.aliases)  # type: ignore[index]
        self.admin.query("DROP DATABASE IF EXISTS %s" % self.name)


def scalar(db: Any, sql: str, args: Any = None) -> Any:
    """The first column of the first row of one statement on a Django connection."""
    with db.cursor() as cursor:
        cursor.execute(sql, args)
        return cursor.fetchone()[0]


def rows(db: Any, sql: str, args: Any = None) -> list[Any]:
    """The rows of one statement on a Django connection (none for a statement without a result
    set, such as SET or INSERT)."""
    with db.cursor() as cursor:
        cursor.execute(sql, args)
        return list(cursor.fetchall()) if cursor.description else []


# The processlist row of the statement itself: its text holds the LIKE pattern, so the pattern
# (a marker unique to the call) matches that row and no other.
SESSION_ID_SQL = "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE %s"


def session_id_sql() -> tuple[str, list[str]]:
    """A statement and its arguments whose one row is the server session (thread id) running
    it, for raw DB-API cursors and the scenario scripts; Django connections use session_id()."""
    return SESSION_ID_SQL, ["%" + uuid.uuid4().hex + "%"]


def session_id(db: Any) -> int:
    """The server session (thread id) that runs this statement on a Django connection (or a
    raw DB-API connection), read from the statement's own processlist row: CONNECTION_ID()
    would pin a pooled connection until close() (the session-state rules), changing what the
    test observes."""
    sql, args = session_id_sql()
    with db.cursor() as cursor:
        cursor.execute(sql, args)
        rows = list(cursor.fetchall())
    assert len(rows) == 1, "one processlist row per marker, not %r" % (rows,)
    return int(rows[0][0])


def run_script(
    script: Path,
    spec: dict[str, Any],
    env: dict[str, str] | None = None,
    timeout: float = 120,
    python: str | Path = sys.executable,
) -> tuple[dict[str, Any], str]:
    """Run a test scenario script in a fresh process (gevent's monkey-patching, a tracer, ...)
    with its JSON spec as argument: (the JSON of its last output line, its stderr). python: another
    interpreter to run it with (a side environment, locked_environment())."""
    result = subprocess.run(
        [str(python), str(script), json.dumps(spec)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def locked_environment(group: str, timeout: float = 600) -> Path:
    """The python of a side environment holding the package (with its PyMySQL extra) and one
    dependency group of pyproject.toml at uv.lock's versions, for this interpreter's Python
    version (``.cache/venv-<group>-py3.X``; built on first use, then a quick check that it still
    matches the lock). For a group that conflicts with the one this environment runs, such as
    the previous major of an integration. Under ``make test-latest``
    (DJANGO_POOLED_MYSQL_LATEST=1) it holds the newest releases instead, as .venv-latest does."""
    import shutil

    latest = bool(os.environ.get("DJANGO_POOLED_MYSQL_LATEST"))
    version = "py%d.%d" % sys.version_info[:2]
    where = ROOT / ".cache" / ("venv-%s%s-%s" % (group, "-latest" if latest else "", version))
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert uv, "uv is not installed (it is in the locked test group): run make venv"
    python = str(where / "bin" / "python")
    if latest:
        shutil.rmtree(where, ignore_errors=True)
        newest = ("--upgrade", "--resolution", "highest", "-e", ".[pymysql]", "--group", group)
        commands = [
            [uv, "venv", "--quiet", "--python", sys.executable, str(where)],
            [uv, "pip", "install", "--quiet", "--python", python, *newest],
        ]
    else:
        locked = ("--locked", "--no-default-groups", "--group", group, "--extra", "pymysql")
        commands = [[uv, "sync", "--quiet", "--python", sys.executable, *locked]]
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(where), "UV_PYTHON_DOWNLOADS": "never"}
    for command in commands:
        result = subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, result.stderr[-4000:]
    return where / "bin" / "python"


class PeakConnections:
    """The most connections the server showed to one database while the block ran, sampled by
    a thread every ``interval`` seconds::

        with PeakConnections(admin, scratch.name) as seen:
            ...  # the load
        assert seen.peak <= cap
    """

    def __init__(self, admin: ServerQueries, database: str, interval: float = 0.01) -> None:
        self.peak = 0
        # The sessions seen at the peak (id, command, state, seconds, statement), for messages.
        self.at_peak: list[tuple[Any, ...]] = []
        self._admin, self._database, self._interval = admin, database, interval
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample)

    def _sample(self) -> None:
        while not self._done.is_set():
            sessions = self._admin.query(
                "SELECT ID, COMMAND, STATE, TIME_MS, LEFT(INFO, 60) "
                "FROM information_schema.PROCESSLIST WHERE DB = %s",
                (self._database,),
            )
            if len(sessions) > self.peak:
                self.peak, self.at_peak = len(sessions), sessions
            self._done.wait(self._interval)

    def __enter__(self) -> PeakConnections:
        self._sampler.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._sampler.join(30)


class FakeConnection:
    """A DB-API connection with a real socket, so the pool's idle check (poll()) works; the
    far end stands for the server. For the pool's own tests (tests/unit/pool/, whose conftest
    closes what each test opened), no server needed."""

    # Every connection made since the last close_all(), for the tests' own counts.
    opened: list[FakeConnection] = []

    def __init__(self, timeout: float | None = None) -> None:
        # timeout: the seconds the pool's caller can still wait for the connect.
        self.connect_timeout = timeout
        self._sock, self.server_side = socket.socketpair()
        self.closed = False
        self.pings = 0
        FakeConnection.opened.append(self)

    def fileno(self) -> int:
        return self._sock.fileno()

    def ping(self) -> None:
        self.pings += 1
        if self.closed:
            raise OSError("closed")

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._sock.close()
            self.server_side.close()

    def drop(self) -> None:
        """The server closes this connection (KILL, wait_timeout): EOF on the client side."""
        self.server_side.close()

    @classmethod
    def close_all(cls) -> None:
        """Close every connection made so far and count afresh (the sockets would otherwise be
        left to the garbage collector: a ResourceWarning, an error in the test run)."""
        for conn in cls.opened:
            conn.close()
        cls.opened = []


class GunicornSite:
    """tests/prometheus_site/ (this ENGINE, a small pool) under a real Gunicorn started with a
    configuration file of the documentation, on a database of the test server; its output
    (the site's log included) goes to a file."""

    def __init__(
        self, database: str, tmp_path: Path, config: Path, args: list[str], **env: str
    ) -> None:
        from tests.support.mariadb_server import die_with_parent, free_port

        self.database = database
        self.port = free_port()
        self.log = tmp_path / "gunicorn.log"
        environ = {
            key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"
        }
        environ.update(
            DJANGO_SETTINGS_MODULE="tests.prometheus_site.settings",
            PROMETHEUS_SITE_DB=database,
            **env,
        )
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "gunicorn"),
                    "-c",
                    str(config),
                    *args,
                    "--bind",
                    "127.0.0.1:%d" % self.port,
                    "--graceful-timeout",
                    "5",
                    "tests.prometheus_site.wsgi:application",
                ],
                cwd=ROOT,
                env=environ,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )

    def get(self, path: str) -> bytes:
        import urllib.request

        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path), timeout=30) as r:
            assert r.status == 200
            body: bytes = r.read()
            return body

    def json(self, path: str) -> Any:
        return json.loads(self.get(path))

    def wait_until_up(self) -> None:
        def answers() -> bool:
            if self.process.poll() is not None:
                raise AssertionError("Gunicorn exited:\n" + self.log.read_text())
            try:
                self.get("/health/")
            except OSError:
                return False
            return True

        eventually(answers, timeout=60, what="Gunicorn to answer")

    def metrics(self) -> dict[str, float]:
        """Every django_pooled_mysql sample of one scrape, summed over its labels; a sample with
        a ``kind`` label also under ``name{kind="..."}``."""
        from prometheus_client.parser import text_string_to_metric_families

        sums: dict[str, float] = {}
        for family in text_string_to_metric_families(self.get("/metrics/").decode()):
            for sample in family.samples:
                if sample.name.startswith("django_pooled_mysql_"):
                    assert sample.labels["alias"] == "default"
                    names = [sample.name]
                    if "kind" in sample.labels:
                        names.append('%s{kind="%s"}' % (sample.name, sample.labels["kind"]))
                    for name in names:
                        sums[name] = sums.get(name, 0) + sample.value
        return sums

    def worker_pids(self) -> list[int]:
        result = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        )
        return [int(pid) for pid in result.stdout.split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class StepClock:
    """A pool clock (``pool.clock``) that moves only when told: durations are exact and no test
    sleeps. Whole seconds keep the sums exact."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def fake_pool(name: str = "fake", **options: Any) -> Any:
    """A ConnectionPool of FakeConnections on a StepClock (pool-side unit tests)."""
    from django_pooled_mysql.pool import ConnectionPool
    from django_pooled_mysql.pool.options import parse_pool_option

    parsed = parse_pool_option("fake", {"timeout": 5, **options})
    assert parsed is not None
    pool = ConnectionPool(name, FakeConnection, parsed)
    pool.clock = StepClock()
    return pool


class _Holder:
    """Stands for the Django connection (its PooledConnection) that a pinned lease watches."""


# Kept for the whole run: a holder garbage-collected while pinned is taken for abandoned.
_holders: list[_Holder] = []


def new_holder(pool: Any) -> Any:
    """The watchers of a new holder, for ``pool.pinned.pin(new_holder(pool), reason)``."""
    holder = _Holder()
    _holders.append(holder)
    return pool.pinned.watchers_for(holder, None)


def eventually(
    condition: Callable[[], bool],
    timeout: float = 10,
    what: str | Callable[[], str] = "it",
    interval: float = 0.02,
) -> None:
    """Poll a condition until it holds, and fail at the deadline: for what offers no event to
    wait on (a connection closing, a KILL completing, a pool gauge). ``what`` names what is
    awaited; a callable is asked at the deadline, so the message shows the state last seen.
    Every polling wait of the tests goes through here, so none can fall through its deadline.
    Under gevent's monkey-patching the sleep is a cooperative one."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            described = what() if callable(what) else what
            raise AssertionError("timed out after %g s waiting for %s" % (timeout, described))
        time.sleep(interval)


def join_all(threads: list[threading.Thread], timeout: float = 120) -> None:
    """Join threads within one deadline: a thread that never ends fails the test, not hangs it."""
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0))
    alive = [thread.name for thread in threads if thread.is_alive()]
    assert not alive, "threads still running after %.0f s: %s" % (timeout, alive)


def run_threads(count: int, target: Callable[[int], Any], timeout: float = 120) -> list[Any]:
    """Run target(i) in `count` threads started together; re-raise the first failure."""
    results: list[Any] = [None] * count
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def body(i: int) -> None:
        try:
            start.wait()
            results[i] = target(i)
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    join_all(threads, timeout)
    if errors:
        raise errors[0]
    return results


def in_forked_child(body: Callable[[], object]) -> str:
    """Run body in a fork()ed child (as a Gunicorn worker is forked) and return str(result).

    The child never returns into pytest: it exits with status 0 after body returns, 1 if body
    raised; a non-zero status fails the calling test.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_end)
            os.write(write_end, str(body()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        output = os.read(read_end, 4096).decode()
    finally:
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the forked child failed"
    return output
