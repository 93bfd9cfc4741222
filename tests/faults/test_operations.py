"""Operations against a server with real limits (issue 18): manage.py pool_budget, the system
checks that ask the server, and a password that never reaches a log line.

The fault server is restarted once with a non-zero --max-user-connections (MariaDB refuses to
change max_user_connections at run time on a server started with 0), then given the limits each
test sets: max_connections, max_user_connections, an account's MAX_USER_CONNECTIONS,
wait_timeout.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError

from django_pooled_mysql.base import DatabaseWrapper
from django_pooled_mysql.exceptions import PoolTimeout
from django_pooled_mysql.pool.registry import close_pools
from tests.support.helpers import ROOT, FaultServer, eventually, join_all, scalar, session_id

DATABASE = "ops"
USER = "shop"


class Ops:
    """The fault server with a database and an account of these tests'."""

    def __init__(self, server: FaultServer) -> None:
        self.server = server
        # Distinctive, and made at run time so that no source line (a logged stack) holds it.
        self.password = "pw-%s-Zq" % uuid.uuid4().hex
        self.password_hash = server.query("SELECT PASSWORD(%s)", (self.password,))[0][0]

    def entry(self, pool: Any = True, **extra: Any) -> dict[str, Any]:
        """A DATABASES entry of this ENGINE for the test account."""
        return {
            "ENGINE": "django_pooled_mysql",
            "NAME": DATABASE,
            "HOST": self.server.host,
            "PORT": str(self.server.port),
            "USER": USER,
            "PASSWORD": self.password,
            "OPTIONS": {"pool": pool},
            **extra,
        }

    def limits(
        self,
        max_connections: int = 100,
        max_user_connections: int = 0,
        account_limit: int = 0,
        wait_timeout: int = 28800,
    ) -> None:
        """Set the server's limits (new sessions get the new wait_timeout)."""
        self.server.set_global("max_connections", max_connections)
        self.server.set_global("max_user_connections", max_user_connections)
        self.server.set_global("wait_timeout", wait_timeout)
        self.server.query("ALTER USER %s@'%%' WITH MAX_USER_CONNECTIONS %d" % (USER, account_limit))

    def manage(
        self,
        *args: str,
        databases: dict[str, Any],
        setting: dict[str, Any] | None = None,
        apps: list[str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `python -m django ARGS` with these settings (tests/faults/ops_settings.py)."""
        env = {key: value for key, value in os.environ.items() if key != "WEB_CONCURRENCY"}
        env.update(
            DJANGO_SETTINGS_MODULE="tests.faults.ops_settings",
            OPS_DATABASES=json.dumps(databases),
            OPS_SETTING=json.dumps(setting) if setting is not None else "",
            OPS_APPS=json.dumps(["django_pooled_mysql"] if apps is None else apps),
        )
        result = subprocess.run(
            [sys.executable, "-m", "django", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.assert_no_secret(result.stdout + result.stderr)
        return result

    def assert_no_secret(self, text: str) -> None:
        assert self.password not in text
        assert self.password_hash not in text
        assert "IDENTIFIED" not in text


@pytest.fixture(scope="module")
def ops(fault_server: FaultServer) -> Iterator[Ops]:
    fault_server.extra_args = ("--max-user-connections=1000",)
    fault_server.restart()
    helper = Ops(fault_server)
    fault_server.query("CREATE DATABASE %s" % DATABASE)
    fault_server.query("CREATE USER shop@'%%' IDENTIFIED BY %s", (helper.password,))
    fault_server.query("GRANT ALL ON %s.* TO %s@'%%'" % (DATABASE, USER))
    yield helper
    close_pools(lambda key: str(key[0]).startswith("ops"))  # type: ignore[index]


# The shape: web 2 hosts x 4 processes x (3 + 1) = 32 on default; jobs 2 x 4 x 2 on
# default and on background (the same account): 64 at most.
PROCESS_GROUPS = {
    "process_groups": {
        "web": {"processes": 4, "hosts": 2, "max_open": {"background": 0}},
        "jobs": {"processes": 4, "hosts": 2, "max_open": {"default": 2, "background": 2}},
    },
    "reserve": 10,
}


def two_aliases(ops: Ops, **extra: Any) -> dict[str, Any]:
    return {
        "default": ops.entry({"pool_size": 3, "max_overflow": 1}, **extra),
        "background": ops.entry({"pool_size": 1, "max_overflow": 1}),
    }


def check_ids(result: subprocess.CompletedProcess[str]) -> list[str]:
    return re.findall(r"\(([\w.]+\.[EW]\d{3})\)", result.stdout + result.stderr)


# -- manage.py pool_budget --------------------------------------------------------------------


def test_pool_budget_reports_the_limits_the_server_enforces(ops: Ops) -> None:
    ops.limits(max_connections=60, max_user_connections=30, account_limit=20, wait_timeout=900)
    result = ops.manage("pool_budget", "--json", databases=two_aliases(ops), setting=PROCESS_GROUPS)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    (server,) = report["servers"]
    assert server["server"] == "%s:%s" % (ops.server.host, ops.server.port)
    assert server["aliases"] == ["default", "background"]
    assert server["max_connections"] == 60
    assert server["threads_connected"] >= 1 and server["max_used_connections"] >= 1
    (account,) = server["accounts"]
    assert account == {
        "account": "shop@%",
        "user": "shop",
        "aliases": ["default", "background"],
        "max_user_connections": 30,
        "account_max_user_connections": 20,
        "effective_limit": 20,
        "wait_timeout": 900,
    }
    # Without the PROCESS privilege, the account sees its own connections: the command's.
    assert not server["processlist_complete"]
    assert [(row["user"], row["host"]) for row in server["processlist"]] == [("shop", "127.0.0.1")]
    assert [(row["group"], row["alias"], row["peak"]) for row in report["peaks"]] == [
        ("web", "default", 32),
        ("jobs", "default", 16),
        ("jobs", "background", 16),
    ]
    assert [
        (t["limit"], t["value"], t["peak"], t["headroom"], t["over"]) for t in report["limits"]
    ] == [
        ("max_connections", 60, 64, -14, True),
        ("max_user_connections", 20, 64, -54, True),
    ]
    # Sizes that fit: within 20 - 10 for every process.
    fitted = sum(
        row["hosts"] * row["processes"] * fit["fits"]
        for row, fit in zip(report["peaks"], report["fits"], strict=True)
    )
    assert fitted <= 10

    # The limit reported is the one the server enforces on this account.
    import MySQLdb

    held = []
    try:
        for _ in range(account["effective_limit"]):
            held.append(
                MySQLdb.connect(
                    host=ops.server.host, port=ops.server.port, user=USER, password=ops.password
                )
            )
        with pytest.raises(MySQLdb.OperationalError) as refused:
            MySQLdb.connect(
                host=ops.server.host, port=ops.server.port, user=USER, password=ops.password
            )
        # 1226 for the account's own limit (1203 for the global max_user_connections).
        assert refused.value.args[0] == 1226
        assert "max_user_connections" in refused.value.args[1]
    finally:
        for conn in held:
            conn.close()

    text = ops.manage("pool_budget", databases=two_aliases(ops), setting=PROCESS_GROUPS)
    assert text.returncode == 1
    assert "shop@%s:%s max_user_connections" % (ops.server.host, ops.server.port) in text.stdout
    assert text.stdout.count("OVER") == 2 and "Sizes that fit every limit:" in text.stdout


def test_pool_budget_exits_0_when_the_groups_on_the_command_line_fit(ops: Ops) -> None:
    ops.limits(max_connections=100, account_limit=30)
    result = ops.manage(
        "pool_budget",
        "--group",
        "web:processes=2,hosts=2,max_open.background=0",
        "--group",
        "jobs:processes=2,max_open=1",
        "--reserve",
        "2",
        databases=two_aliases(ops),
        # Replaced by the command line's groups, and its reserve by --reserve.
        setting=PROCESS_GROUPS,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "process groups from the command line" in result.stdout
    # 2 x 2 x (3 + 1) + 2 x (1 + 1) = 20, within 30 - 2.
    assert "Against the limits (reserve: 2 connections" in result.stdout
    assert re.search(r"max_user_connections\s+30\s+20\s+2\s+8\s+ok", result.stdout), result.stdout
    assert "Every limit has room for the peak." in result.stdout


def test_pool_budget_with_the_process_privilege_sees_every_account(ops: Ops) -> None:
    ops.limits()
    ops.server.query("GRANT PROCESS ON *.* TO %s@'%%'" % USER)
    admin = ops.server.admin()  # a root connection for the processlist to show
    try:
        result = ops.manage("pool_budget", "--json", databases=two_aliases(ops))
    finally:
        admin.close()
        ops.server.query("REVOKE PROCESS ON *.* FROM %s@'%%'" % USER)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    (server,) = report["servers"]
    assert server["processlist_complete"]
    assert {"root", "shop"} <= {row["user"] for row in server["processlist"]}
    # No process groups configured: one process, assumed, and said so.
    assert report["process_groups"]["assumed"] is True
    (account,) = server["accounts"]
    assert (account["account_max_user_connections"], account["effective_limit"]) == (0, None)


# -- the checks that ask the server -------------------------------------------------------------


@pytest.mark.parametrize(
    ("apps", "keepalive_time", "limits", "extra", "expected"),
    [
        # Only ENGINE set: the backend's validation, as Django's mysql.W002.
        ([], None, {}, {}, []),
        ([], 900, {"wait_timeout": 900}, {}, ["django_pooled_mysql.W002"]),
        ([], 600, {"wait_timeout": 900}, {}, []),
        (
            [],
            None,
            {"max_connections": 60, "account_limit": 20},
            {},
            ["django_pooled_mysql.W003", "django_pooled_mysql.W004"],
        ),
        ([], None, {"max_user_connections": 50}, {}, ["django_pooled_mysql.W004"]),
        # With the app, its settings check plus the server's, each once.
        (
            ["django_pooled_mysql"],
            900,
            {"wait_timeout": 900, "max_connections": 60},
            {"ATOMIC_REQUESTS": True},
            ["django_pooled_mysql.W001", "django_pooled_mysql.W002", "django_pooled_mysql.W003"],
        ),
    ],
)
def test_check_database_asks_the_server(
    ops: Ops,
    apps: list[str],
    keepalive_time: int | None,
    limits: dict[str, int],
    extra: dict[str, Any],
    expected: list[str],
) -> None:
    ops.limits(**limits)
    databases = two_aliases(ops, **extra)
    databases["default"]["OPTIONS"]["pool"]["keepalive_time"] = keepalive_time
    result = ops.manage(
        "check", "--database", "default", databases=databases, setting=PROCESS_GROUPS, apps=apps
    )
    assert check_ids(result) == expected, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.returncode == 0  # warnings only


# -- the password ------------------------------------------------------------------------------


def wrapper(ops: Ops, alias: str = "ops", **pool: Any) -> Any:
    settings = ops.entry(
        {"pool_size": 2, "max_overflow": 0, "timeout": 5, **pool},
        CONN_MAX_AGE=0,
        CONN_HEALTH_CHECKS=False,
        AUTOCOMMIT=True,
        ATOMIC_REQUESTS=False,
        TIME_ZONE=None,
        TEST={},
    )
    return DatabaseWrapper(settings, alias)


def test_the_password_never_appears_in_any_log_line(
    ops: Ops, caplog: pytest.LogCaptureFixture, django_db_blocker: Any
) -> None:
    ops.limits()
    caplog.set_level(logging.DEBUG)  # every logger, SQLAlchemy's pool included
    with django_db_blocker.unblock():
        # connect, statements, a session pin and its reset
        db = wrapper(ops, leak_warning_after=0.2, checkout_warning_after=0.05)
        assert scalar(db, "SELECT CURRENT_USER()") == "shop@%"
        scalar(db, "SELECT @x := 1")
        db.close()
        assert db.pool_stats()["resets"] == 1

        # a connection killed while idle: found and invalidated at checkout
        connection_id = session_id(db)
        ops.server.query("KILL CONNECTION %d" % connection_id)
        eventually(
            lambda: connection_id not in ops.server.connection_ids(DATABASE), what="the kill"
        )
        scalar(db, "SELECT 1")
        assert db.pool_stats()["invalidations"] >= 1

        # a transaction held too long (leak warning), in a thread that ends without closing
        # (recovered as abandoned)
        def abandon() -> None:
            other = wrapper(ops, leak_warning_after=0.2, checkout_warning_after=0.05)
            other.set_autocommit(False)
            scalar(other, "SELECT 1")
            eventually(lambda: other.pool_stats()["leak_warnings"] >= 1, what="a leak warning")

        thread = threading.Thread(target=abandon)
        thread.start()
        join_all([thread], timeout=30)
        eventually(lambda: db.pool_stats()["abandoned"] == 1, what="the recovery")

        # the account's limit reached: refusals, waits, a slow checkout, then PoolTimeout
        ops.limits(account_limit=1)
        close_pools(lambda key: key[0] == "ops")  # type: ignore[index]
        eventually(lambda: not ops.server.connection_ids(DATABASE), what="the pool's quits")
        first = wrapper(ops, timeout=0.5)
        first.set_autocommit(False)
        scalar(first, "SELECT 1")
        second = wrapper(ops, timeout=0.5)
        with pytest.raises(OperationalError) as timed_out:
            scalar(second, "SELECT 1")
        assert isinstance(timed_out.value.__cause__, PoolTimeout)
        ops.assert_no_secret(str(timed_out.value))
        first.rollback()
        first.set_autocommit(True)
        first.close()
        assert first.pool_stats()["server_refusals"] >= 1

        # the password changed under the pool: its reconnects fail
        ops.limits()
        ops.server.query("ALTER USER %s@'%%' IDENTIFIED BY 'another-one'" % USER)
        try:
            connection_id = session_id(first)
            ops.server.query("KILL CONNECTION %d" % connection_id)
            eventually(
                lambda: connection_id not in ops.server.connection_ids(DATABASE), what="the kill"
            )
            with pytest.raises(OperationalError) as denied:
                scalar(first, "SELECT 1")
            assert denied.value.args[0] == 1045
            ops.assert_no_secret(str(denied.value))
        finally:
            ops.server.query("ALTER USER shop@'%%' IDENTIFIED BY %s", (ops.password,))
        first.close()
        second.close()
        db.close()
        close_pools(lambda key: key[0] == "ops")  # type: ignore[index]

    ours = [record for record in caplog.records if record.name == "django_pooled_mysql"]
    events = " ".join(record.getMessage() for record in ours)
    for event in ("connect", "reset", "invalidate", "held for", "abandoned", "close"):
        assert event in events, event
    for record in ours:
        # The pool's name in every line: alias, account, server, database; never the password.
        assert re.match(r"pool 'ops' \(shop@127\.0\.0\.1:\d+/ops\)", record.getMessage()), record
    ops.assert_no_secret(caplog.text)
    for record in caplog.records:
        ops.assert_no_secret(record.getMessage())
        ops.assert_no_secret(repr(record.args))
