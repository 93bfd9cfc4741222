"""Who holds the connections now (issue 26): django_pooled_mysql.holders() against the server,
with threads holding a transaction, a pinned() block and a statement blocked on a row lock, and
inside a running Gunicorn worker as docs/examples/gunicorn_holders.conf.py sets it up."""

from __future__ import annotations

import os
import signal
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import django_pooled_mysql
from django_pooled_mysql.pool import holders as holders_module
from tests.support.docs_pages import EXAMPLES, ROOT
from tests.support.helpers import Admin, GunicornSite, Scratch, eventually, join_all


def run(db: Any, sql: str) -> None:
    """One statement, its rows (if any) left unread."""
    with db.cursor() as cursor:
        cursor.execute(sql)


def line_of(path: Path, marker: str) -> int:
    """The line of a file that carries a marker comment."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.rstrip().endswith(marker):
            return number
    raise AssertionError(marker)


def test_holders_names_each_pinned_lease_and_counts_statement_leases(
    scratch: Scratch, admin: Admin
) -> None:
    options = {"pool_size": 4, "max_overflow": 0, "leak_warning_after": 600}
    make = scratch.factory(options, alias="holders_test")
    run(make(), "INSERT INTO testapp_author (name, age) VALUES ('locked', 1)")
    pinned = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def in_transaction() -> None:
        db = make()
        try:
            db.set_autocommit(False)
            with db.cursor() as cursor:
                cursor.execute("SELECT COUNT(*) FROM testapp_book")  # HOLDER TRANSACTION
            pinned.set()
            assert release.wait(30)
            db.rollback()
            db.set_autocommit(True)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            db.close()

    def blocked_statement() -> None:
        db = make()
        try:
            # A statement lease, waiting for admin's row lock on the server.
            run(db, "SELECT age FROM testapp_author WHERE name = 'locked' FOR UPDATE")
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            db.close()

    admin.query("BEGIN")
    admin.query("SELECT * FROM %s.testapp_author FOR UPDATE" % scratch.name)
    threads = [
        threading.Thread(target=in_transaction, name="holder-transaction"),
        threading.Thread(target=blocked_statement, name="holder-statement"),
    ]
    try:
        threads[0].start()
        assert pinned.wait(30)
        threads[1].start()
        eventually(
            lambda: (
                admin.query(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE %s",
                    ["SELECT age FROM testapp_author%"],
                )
                == [(1,)]
            ),
            what="the statement to wait for the row lock",
        )
        db = make()
        db.ensure_connection()
        db.connection.hold()  # this thread's own pin, in pinned()
        [report] = django_pooled_mysql.holders("holders_test")
        assert django_pooled_mysql.holders("no_such_alias") == []
        assert report["pool"] in [entry["pool"] for entry in django_pooled_mysql.holders()]
    finally:
        admin.query("ROLLBACK")
        release.set()
        join_all(threads)
    assert not errors, errors[0]
    db.connection.unhold()
    assert report["alias"] == "holders_test" and report["pool"] == db.pool.name
    assert (report["in_use"], report["statement_leases"], report["max_open"]) == (3, 1, 4)
    transaction, explicit = report["pinned"]  # oldest first
    assert transaction["kind"] == "transaction" and transaction["reason"] == "transaction"
    assert transaction["holder"] == "holder-transaction"
    assert transaction["holder_id"] == threads[0].ident
    assert transaction["site"].endswith(
        "test_holders.py:%d in in_transaction" % line_of(Path(__file__), "# HOLDER TRANSACTION")
    )
    assert transaction["statement"] == "SELECT COUNT(*) FROM testapp_book"
    assert "in_transaction" in transaction["stack"]  # leak_warning_after records it
    assert transaction["age"] >= explicit["age"] >= 0
    assert explicit["kind"] == "pinned" and explicit["holder"] == threading.current_thread().name
    assert explicit["statement"] is None
    summary = holders_module.summary(report)
    assert summary.startswith("holders in process ")
    assert "3 of 4 connections in use (2 pinned, 1 by a statement)" in summary
    assert (
        " transaction (transaction), holder-transaction [%d], from " % threads[0].ident in summary
    )


def test_holders_has_no_stack_unless_leak_warnings_record_it(scratch: Scratch) -> None:
    db = scratch.wrapper({"pool_size": 1}, alias="holders_plain")
    db.set_autocommit(False)
    run(db, "SELECT 1")
    [report] = django_pooled_mysql.holders("holders_plain")
    [lease] = report["pinned"]
    assert lease["stack"] is None and lease["site"] and report["statement_leases"] == 0
    db.rollback()
    db.set_autocommit(True)
    assert django_pooled_mysql.holders("holders_plain")[0]["pinned"] == []


# -- inside a running Gunicorn worker ----------------------------------------------------------


@pytest.fixture
def site(admin: Admin, tmp_path: Path) -> Iterator[GunicornSite]:
    database = "holders_%s" % uuid.uuid4().hex[:10]
    admin.query("CREATE DATABASE %s" % database)
    running = GunicornSite(
        database,
        tmp_path,
        EXAMPLES / "gunicorn_holders.conf.py",
        ["--workers", "1", "--threads", "4"],
    )
    try:
        running.wait_until_up()
        yield running
    finally:
        running.stop()
        admin.query("DROP DATABASE IF EXISTS %s" % database)


def test_sigusr2_logs_who_holds_a_gunicorn_workers_connections(
    site: GunicornSite, admin: Admin
) -> None:
    name = "holders_%s" % uuid.uuid4().hex[:10]
    assert admin.query("SELECT GET_LOCK(%s, 0)", [name]) == [(1,)]
    answers: list[Any] = []
    errors: list[BaseException] = []

    def request() -> None:
        try:
            answers.append(site.json("/named_lock/?name=%s" % name))
        except BaseException as exc:  # reported below
            errors.append(exc)

    client = threading.Thread(target=request)
    client.start()
    try:
        # The view's GET_LOCK() waits on the server, on a connection pinned for it.
        eventually(
            lambda: (
                admin.query(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE = 'User lock'"
                    " AND INFO LIKE %s",
                    ["SELECT GET_LOCK('%s'%%" % name],
                )
                == [(1,)]
            ),
            timeout=30,
            what="the view to wait for the lock",
        )
        [worker] = site.worker_pids()
        os.kill(worker, signal.SIGUSR2)
        header = "holders in process %d: 1 of 4 connections in use (1 pinned, 0 by a statement)"
        eventually(
            lambda: header % worker in site.log.read_text(),
            timeout=30,
            what="the holders in the log",
        )
    finally:
        admin.query("SELECT RELEASE_LOCK(%s)", [name])
        join_all([client])
    assert not errors, errors[0]
    assert answers == [{"pid": worker, "got": 1}]
    # The worker handled the signal and lives on (USR2's default action would end it).
    assert site.worker_pids() == [worker]
    log = site.log.read_text()
    views = ROOT / "tests" / "prometheus_site" / "urls.py"
    where = "from %s:%d in named_lock" % (views, line_of(views, "# THE PIN"))
    [line] = [line for line in log.splitlines() if " s session_state:named_lock (" in line]
    assert line.endswith(", %s: SELECT GET_LOCK(%%s, 30)" % where), line
    # The first pin from the view, logged once at INFO with its statement.
    assert (
        "first pin for session_state:named_lock (GET_LOCK()) %s: SELECT GET_LOCK(%%s, 30)" % where
        in log
    )
