"""The documentation's samples that touch the database run against the test server.

tests/unit/test_docs_samples.py checks every other sample without a database. Here: the
pinned() and init_command samples, the monitoring function, and the tutorial, whose SQL and
shell commands are read from docs/tutorial.md and run (Gunicorn with gevent workers serving the
demo project, with the stock backend and with this ENGINE).
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.settings import SERVER
from tests.support.docs_pages import (
    ROOT,
    load_example,
    page_block,
    shell_commands,
    split_assignments,
)
from tests.support.helpers import ALTERNATING, Admin, Scratch, scalar
from tests.support.mariadb_server import free_port


@pytest.fixture
def alias(scratch: Scratch) -> Iterator[Any]:
    """Registers a Django alias on the scratch database; yields a function that configures it."""
    from django.db import connections

    registered: list[str] = []

    def register(name: str, settings: dict[str, Any]) -> Any:
        connections.settings[name] = settings
        registered.append(name)
        scratch.aliases.add(name)
        return connections[name]

    yield register
    for name in registered:
        connections[name].close()
        del connections.settings[name]


def test_pinned_sample_runs_every_statement_on_one_connection(scratch: Scratch, alias: Any) -> None:
    db = alias("alternating", scratch.settings(ALTERNATING))
    # Two idle connections in a FIFO pool: unpinned statements alternate between them (checked).
    scratch.alternating()
    before = db.pool_stats()["requests"]
    insert = "INSERT INTO testapp_author (name, age) VALUES (%s, %s)"
    load_example("pinned.py").run_batch([(insert, ["a%d" % i, i]) for i in range(5)], "alternating")
    # One checkout for the five statements, and every row committed without a transaction.
    assert db.pool_stats()["requests"] - before == 1
    assert scalar(scratch.wrapper(), "SELECT COUNT(*) FROM testapp_author") == 5


def test_init_command_sample_applies_to_every_connection_without_pinning(
    scratch: Scratch, alias: Any
) -> None:
    sample = load_example("settings_init_command.py").DATABASES["default"]
    settings = scratch.settings(sample["OPTIONS"]["pool"])
    settings["OPTIONS"] = {**settings["OPTIONS"], **sample["OPTIONS"]}
    db = alias("docs_init_command", settings)
    assert scalar(db, "SELECT @@session.time_zone") == "+00:00"
    assert db.pool_stats()["session_pins"] == 0
    # A value set on one Django connection is replayed on its leases only: nothing pins, and
    # the next Django connection has init_command's value again.
    with db.cursor() as cursor:
        cursor.execute("SET time_zone = '+05:00'")
    assert scalar(db, "SELECT @@session.time_zone") == "+05:00"
    db.close()
    assert db.pool_stats()["session_pins"] == 0
    assert scalar(db, "SELECT @@session.time_zone") == "+00:00"


def test_monitoring_sample_logs_the_pool_figures(
    scratch: Scratch, alias: Any, caplog: pytest.LogCaptureFixture
) -> None:
    db = alias("docs_monitoring", scratch.settings({"pool_size": 2, "max_overflow": 1}))
    scalar(db, "SELECT 1")
    monitoring = load_example("monitoring.py")
    with caplog.at_level(logging.INFO, logger="shop.pool"):
        stats = monitoring.log_pool_stats("docs_monitoring")
    assert stats["open"] == 1 and stats["in_use"] == 0 and stats["pool_size"] == 2
    (record,) = [record for record in caplog.records if record.name == "shop.pool"]
    line = record.getMessage()
    for key in monitoring.GAUGES + monitoring.COUNTERS:
        assert "%s=%s" % (key, stats[key]) in line


# -- the tutorial ------------------------------------------------------------------------------


@pytest.fixture
def tutorial_database(admin: Admin) -> Iterator[tuple[str, str, str]]:
    """The tutorial's SQL, run with a database and account of this test's own."""
    suffix = uuid.uuid4().hex[:8]
    database, user = "docs_tutorial_%s" % suffix, "docs_%s" % suffix
    sql = page_block("tutorial.md", "sql", "CREATE DATABASE").body
    password = re.search(r"IDENTIFIED BY '([^']+)'", sql)
    assert password is not None
    sql = sql.replace("pooled_demo", database).replace("'demo'@", "'%s'@" % user)
    statements = [statement.strip() for statement in sql.split(";") if statement.strip()]
    assert [statement.split()[0] for statement in statements] == ["CREATE", "CREATE", "GRANT"]
    try:
        for statement in statements:
            admin.query(statement)
        yield database, user, password.group(1)
    finally:
        admin.query("DROP USER IF EXISTS '%s'@'%%'" % user)
        admin.query("DROP DATABASE IF EXISTS %s" % database)


class Tutorial:
    """Runs the tutorial's shell commands the way a reader would, in order."""

    def __init__(self, url: str, log: Path) -> None:
        self.cwd = ROOT
        self.log = log
        self.port = free_port()
        env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
        # Small catalogue, a free port, the test's own server.
        env.update(DEMO_PRODUCTS="20", GUNICORN_BIND="127.0.0.1:%d" % self.port)
        self.env = env
        self.url = url
        self.server: subprocess.Popen[bytes] | None = None

    def program(self, name: str) -> str:
        # ../.venv/bin/python on the page: the interpreter running the tests, and its gunicorn.
        return (
            sys.executable if name.endswith("python") else str(Path(sys.executable).parent / name)
        )

    def run(self, block: str) -> None:
        for tokens in shell_commands(block):
            env, command = split_assignments(tokens)
            if command[0] == "cd":
                self.cwd = (self.cwd / command[1]).resolve()
            elif command[0] == "export":
                for assignment in command[1:]:
                    name, _, value = assignment.partition("=")
                    # The page names a server of the reader's; the test uses its own.
                    self.env[name] = self.url if name == "DJANGO_POOLED_MYSQL_TEST_URL" else value
            elif command[1:3] == ["manage.py", "migrate"] or command[1:3] == ["manage.py", "seed"]:
                subprocess.run(
                    [self.program("python"), *command[1:]],
                    cwd=self.cwd,
                    env={**self.env, **env},
                    check=True,
                    capture_output=True,
                    timeout=120,
                )
            elif Path(command[0]).name == "gunicorn":
                self.start_gunicorn(command, env)
            else:
                raise AssertionError("the test does not know how to run %s" % tokens)

    def start_gunicorn(self, command: list[str], env: dict[str, str]) -> None:
        self.stop()
        with self.log.open("ab") as log:
            self.server = subprocess.Popen(
                [self.program("gunicorn"), *command[1:]],
                cwd=self.cwd,
                env={**self.env, **env, "GUNICORN_ERRORLOG": str(self.log)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.get("/health/")
                return
            except OSError:
                if self.server.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(
                        "Gunicorn did not start:\n" + self.log.read_text()
                    ) from None
                time.sleep(0.05)  # the workers are booting; there is no event to wait on

    def get(self, path: str) -> Any:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path), timeout=30) as r:
            assert r.status == 200
            return json.loads(r.read())

    def curl(self, block: str) -> list[Any]:
        answers = []
        for tokens in shell_commands(block):
            assert tokens[0] == "curl"
            answers.append(self.get(re.sub(r"^http://127\.0\.0\.1:8000", "", tokens[1])))
        return answers

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(30)
            self.server = None


def test_tutorial_runs_the_demo_project_under_gunicorn_stock_then_pooled(
    tutorial_database: tuple[str, str, str], tmp_path: Path
) -> None:
    database, user, password = tutorial_database
    url = "mysql://%s:%s@%s:%s/%s" % (user, password, SERVER["HOST"], SERVER["PORT"], database)
    tutorial = Tutorial(url, tmp_path / "gunicorn.log")
    curls = page_block("tutorial.md", "sh", "curl http://127.0.0.1:8000/pool/").body
    try:
        tutorial.run(page_block("tutorial.md", "sh", "manage.py migrate").body)
        assert tutorial.env["DEMO_DB_MODE"] == "stock-age0"
        product, pool = tutorial.curl(curls)
        assert product["product"] and pool["mode"] == "stock-age0" and pool["pool"] is None

        tutorial.run(page_block("tutorial.md", "sh", "export DEMO_DB_MODE=pooled").body)
        product, pool = tutorial.curl(curls)
        assert pool["mode"] == "pooled"
        stats = pool["pool"]
        assert (stats["pool_size"], stats["max_overflow"]) == (10, 10)
        # The figures of whichever worker answered: its pool never exceeds its bound.
        assert 0 <= stats["open"] <= stats["pool_size"] + stats["max_overflow"]
        assert stats["in_use"] == 0 and stats["timeouts"] == 0
    finally:
        tutorial.stop()


def test_operations_processlist_query_counts_connections_by_user_and_client(
    scratch: Scratch, alias: Any, admin: Admin
) -> None:
    db = alias("docs_operations", scratch.settings({"pool_size": 2, "max_overflow": 0}))
    db.set_autocommit(False)
    scalar(db, "SELECT 1")  # one pooled connection held
    sql = page_block("operations.md", "sql", "information_schema.PROCESSLIST").body
    rows = admin.query(sql)
    try:
        # The admin's connection and the pool's, from this machine, in the busiest row.
        assert any(user == SERVER["USER"] and count >= 2 for user, _, count in rows), rows
        assert [count for _, _, count in rows] == sorted((c for _, _, c in rows), reverse=True)
    finally:
        db.rollback()
        db.set_autocommit(True)
