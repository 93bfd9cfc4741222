"""Celery workers on a real broker with this ENGINE (issue 15, item 4).

A private redis-server (one per test session) is the broker and result backend; each test
starts a real worker (prefork: children forked after Django is loaded and after the main
process queried; threads; gevent) running tests/ecosystem/celery_app.py, sends it far more
tasks than it has connections, and samples the server's processlist meanwhile.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.helpers import ROOT, Admin, PeakConnections, Scratch, eventually
from tests.support.mariadb_server import die_with_parent, free_port

TASKS = 60


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private Redis on a free port for this session (never the shared one)."""
    server = shutil.which("redis-server")
    assert server, "redis-server is not installed (apt-get install redis-server)"
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port)
        eventually(lambda: _answers(client), timeout=20, what="redis-server to answer")
        client.close()
        yield "redis://127.0.0.1:%d/0" % port
    finally:
        process.terminate()
        process.wait(30)


def _answers(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


class Worker:
    """A celery worker process on the scratch database."""

    def __init__(
        self,
        scratch: Scratch,
        broker: str,
        pool: str,
        concurrency: int,
        options: dict[str, Any],
        fixup: str = "pooled",
    ) -> None:
        self.env = {
            **os.environ,
            "CELERY_TEST_DB": scratch.name,
            "CELERY_TEST_POOL": json.dumps(options),
            "CELERY_TEST_BROKER": broker,
            "CELERY_TEST_FIXUP": fixup,
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.ecosystem.celery_app",
                "worker",
                "-P",
                pool,
                "-c",
                str(concurrency),
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                "eco-%s@localhost" % pool,
            ],
            cwd=ROOT,
            env=self.env,
            preexec_fn=die_with_parent,
        )

    def app(self) -> Any:
        # The sending side, configured as the worker is.
        saved = dict(os.environ)
        os.environ.update({k: v for k, v in self.env.items() if k.startswith("CELERY_TEST")})
        try:
            from tests.ecosystem import celery_app
        finally:
            os.environ.clear()
            os.environ.update(saved)
        return celery_app

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), as a deployment stops a worker."""
        self.process.send_signal(signal.SIGTERM)
        try:
            assert self.process.wait(60) == 0
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def run_tasks(worker: Worker, scratch: Scratch) -> tuple[list[dict[str, Any]], int]:
    """TASKS tasks, all sent at once; their results and the peak server connection count."""
    admin = Admin()
    module = worker.app()
    # The worker is up once it answers one task.
    module.restock.delay(-1).get(timeout=90)
    try:
        with PeakConnections(admin, scratch.name) as seen:
            pending = [module.restock.delay(n) for n in range(TASKS)]
            results = [result.get(timeout=120) for result in pending]
    finally:
        admin.conn.close()
    return results, seen.peak


@pytest.fixture
def celerydb(scratch: Scratch) -> Scratch:
    scratch.admin.query(
        "INSERT INTO %s.testapp_counter (name, value) VALUES ('stock', 0)" % scratch.name
    )
    return scratch


def role_pool(role: str) -> dict[str, Any]:
    """The pool docs/examples/settings_roles.py gives a kind of process (docs/celery.md)."""
    names = runpy.run_path(str(ROOT / "docs" / "examples" / "settings_roles.py"))
    return dict(names["POOL_BY_ROLE"][role])


CASES = {
    # pool, concurrency, OPTIONS["pool"], processes holding a pool (prefork: the children and
    # the main process, which queried before forking and keeps its pool).
    "prefork": ("prefork", 3, role_pool("celery-prefork"), 4),
    "threads": ("threads", 8, role_pool("celery-threads"), 1),
    "gevent": ("gevent", 30, role_pool("celery-gevent"), 1),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_worker_stays_within_its_pools_and_closes_them_on_shutdown(
    celerydb: Scratch, redis_url: str, case: str
) -> None:
    pool, concurrency, options, processes = CASES[case]
    worker = Worker(celerydb, redis_url, pool, concurrency, options)
    try:
        results, peak = run_tasks(worker, celerydb)
        admin = celerydb.admin
        aborted = admin.global_status("Aborted_clients")
    finally:
        worker.stop()
    cap = processes * (options["pool_size"] + options["max_overflow"])
    assert 0 < peak <= cap, (peak, cap)
    # Every task's ORM work happened, the row lock serialising the increments.
    counter = admin.query(
        "SELECT value FROM %s.testapp_counter WHERE name = 'stock'" % celerydb.name
    )
    assert counter == [(TASKS + 1,)]
    assert admin.query("SELECT COUNT(*) FROM %s.testapp_author" % celerydb.name) == [(TASKS + 1,)]
    # The pools lived from task to task: each process connected at most its cap, not per task.
    by_pid: dict[int, set[int]] = {}
    for result in results:
        by_pid.setdefault(result["pid"], set()).add(result["connection_id"])
        assert result["stats"]["timeouts"] == 0
    assert len({cid for ids in by_pid.values() for cid in ids}) <= cap
    if pool == "prefork":
        assert len(by_pid) == concurrency
    # Shut down: every connection closed, each with a COM_QUIT (no aborted client).
    eventually(lambda: admin.connection_ids(celerydb.name) == set(), what="the pools to close")
    assert admin.global_status("Aborted_clients") == aborted


def test_celerys_own_fixup_reconnects_for_every_prefork_task(
    celerydb: Scratch, redis_url: str
) -> None:
    # What django_pooled_mysql.celery:fixup avoids: Celery's fix-up calls close_pool() around
    # every task under prefork when OPTIONS["pool"] is set.
    worker = Worker(
        celerydb, redis_url, "prefork", 2, {"pool_size": 1, "max_overflow": 0}, fixup="celery"
    )
    try:
        results, _ = run_tasks(worker, celerydb)
    finally:
        worker.stop()
    connections = {result["connection_id"] for result in results}
    assert len(connections) > TASKS / 2
