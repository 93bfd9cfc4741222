"""Session-state safety (issue 4): state stays with its creator and never reaches anyone else."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connections, transaction

import django_pooled_mysql
from tests.driver import DRIVER
from tests.support.helpers import ALTERNATING, Scratch, rows, run_threads, scalar, session_id

# Small pools, so that a leak would reach the next worker on the same physical connection.
ONE = {"pool_size": 1, "max_overflow": 0}


def fresh_values(db: Any) -> tuple[Any, ...]:
    return tuple(rows(db, "SELECT @leak, @@SESSION.sql_mode, @@SESSION.foreign_key_checks")[0])


# -- each construct: its creator sees it, the next user of the connection does not ----------------

SETTERS = [
    ("SET @leak = 42", "SELECT @leak", 42),
    ("SELECT @leak := 42", "SELECT @leak", 42),
    ("SELECT 42 INTO @leak", "SELECT @leak", 42),
    # Session variables beside a user variable, or the character set ones set to an expression
    # (alone and to a literal, they are replayed instead: test_session_variables.py).
    (
        "SET SESSION sql_mode = 'ANSI_QUOTES', @unused = 1",
        "SELECT @@SESSION.sql_mode",
        "ANSI_QUOTES",
    ),
    (
        "SET character_set_client = CONCAT('latin', '1')",
        "SELECT @@SESSION.character_set_client",
        "latin1",
    ),
    ("SET time_zone = '+05:00', @unused = 1", "SELECT @@SESSION.time_zone", "+05:00"),
    ("SET foreign_key_checks = 0, @unused = 1", "SELECT @@SESSION.foreign_key_checks", 0),
    ("SET autocommit = 0", "SELECT @@SESSION.autocommit", 0),
    ("CREATE TEMPORARY TABLE tmp_state (x INT)", "SELECT COUNT(*) FROM tmp_state", 0),
    ("PREPARE stmt FROM 'SELECT 7'", "EXECUTE stmt", 7),
    ("SELECT GET_LOCK('state_lock', 0)", "SELECT IS_USED_LOCK('state_lock') = CONNECTION_ID()", 1),
]


@pytest.mark.parametrize(("setter", "reader", "expected"), SETTERS, ids=[s[0] for s in SETTERS])
def test_state_stays_with_its_creator_and_never_reaches_the_next_user(
    scratch: Scratch, setter: str, reader: str, expected: Any
) -> None:
    creator = scratch.wrapper(ONE)
    baseline = scratch.wrapper(ONE)
    before = fresh_values(baseline)
    baseline.close()
    rows(creator, setter)
    # The only physical connection is pinned to the creator now.
    assert creator.pool_stats()["in_use"] == 1
    assert scalar(creator, reader) == expected
    creator_id = scalar(creator, "SELECT CONNECTION_ID()")
    creator.close()  # end of the request: the session is reset before anyone else gets it
    successor = scratch.wrapper(ONE)
    assert fresh_values(successor) == before
    assert scalar(successor, "SELECT IS_USED_LOCK('state_lock')") is None
    assert scalar(successor, "SELECT @@SESSION.autocommit") == 1
    stats = successor.pool_stats()
    assert (stats["session_pins"], stats["resets"]) == (1, 1)
    # mysqlclient resets the session in place (COM_RESET_CONNECTION); PyMySQL reconnects.
    in_place = DRIVER == "mysqlclient"
    assert stats["reset_reconnects"] == (0 if in_place else 1)
    assert (session_id(successor) == creator_id) is in_place
    try:
        seen_by_successor = scalar(successor, reader)
    except DatabaseError:
        seen_by_successor = "error"  # the temporary table or prepared statement is gone
    assert seen_by_successor != expected


def test_lock_tables_across_atomic_until_unlock(scratch: Scratch) -> None:
    db = scratch.alternating()
    db.set_autocommit(False)
    rows(db, "LOCK TABLES testapp_author WRITE")
    db.commit()
    db.set_autocommit(True)
    # Still pinned after the transaction: UNLOCK must reach the session that holds the lock.
    rows(db, "INSERT INTO testapp_author (name, age) VALUES ('locked', 1)")
    rows(db, "UNLOCK TABLES")
    db.close()
    other = scratch.wrapper(ALTERNATING, alias="alternating")
    assert scalar(other, "SELECT COUNT(*) FROM testapp_author") == 1


def test_sql_calc_found_rows_then_found_rows(scratch: Scratch) -> None:
    db = scratch.alternating()
    for n in range(5):
        rows(db, "INSERT INTO testapp_author (name, age) VALUES (%s, 0)", ["a%d" % n])
    rows(db, "SELECT SQL_CALC_FOUND_ROWS id FROM testapp_author LIMIT 2")
    assert scalar(db, "SELECT FOUND_ROWS()") == 5


def test_found_rows_on_a_fresh_lease_does_not_see_another_users_count(scratch: Scratch) -> None:
    other = scratch.wrapper(ONE)
    rows(other, "SELECT 1 UNION SELECT 2 UNION SELECT 3")
    other.close()
    db = scratch.wrapper(ONE)
    assert scalar(db, "SELECT FOUND_ROWS()") == 0


def test_last_insert_id_is_this_connections_own(scratch: Scratch) -> None:
    mine = scratch.wrapper(ONE)
    theirs = scratch.wrapper(ONE)
    rows(mine, "INSERT INTO testapp_author (name, age) VALUES ('mine', 0)")
    my_id = scalar(mine, "SELECT id FROM testapp_author WHERE name = 'mine'")
    # Another user inserts on the same (only) physical connection in between.
    rows(theirs, "INSERT INTO testapp_author (name, age) VALUES ('theirs', 0)")
    assert scalar(mine, "SELECT LAST_INSERT_ID()") == my_id
    rows(
        mine, "INSERT INTO testapp_book (title, author_id, pages) VALUES ('b', LAST_INSERT_ID(), 1)"
    )
    assert scalar(mine, "SELECT author_id FROM testapp_book") == my_id


def test_use_changes_the_database_only_for_its_user(scratch: Scratch) -> None:
    db = scratch.wrapper(ONE)
    rows(db, "USE mysql")
    assert scalar(db, "SELECT DATABASE()") == "mysql"
    db.close()
    assert scalar(scratch.wrapper(ONE), "SELECT DATABASE()") == scratch.name


def test_raw_begin_keeps_the_transaction_on_one_connection(scratch: Scratch) -> None:
    db = scratch.alternating()
    rows(db, "START TRANSACTION")
    rows(db, "INSERT INTO testapp_author (name, age) VALUES ('raw', 0)")
    watcher = scratch.wrapper(ONE)
    assert scalar(watcher, "SELECT COUNT(*) FROM testapp_author") == 0
    rows(db, "COMMIT")
    assert scalar(watcher, "SELECT COUNT(*) FROM testapp_author") == 1


def test_raw_begin_left_open_is_rolled_back_at_close(scratch: Scratch) -> None:
    db = scratch.wrapper(ONE)
    rows(db, "BEGIN")
    rows(db, "INSERT INTO testapp_author (name, age) VALUES ('forgotten', 0)")
    db.close()
    assert scalar(scratch.wrapper(ONE), "SELECT COUNT(*) FROM testapp_author") == 0


def test_handler_reads_across_statements(scratch: Scratch) -> None:
    db = scratch.alternating()
    rows(db, "INSERT INTO testapp_author (name, age) VALUES ('h1', 1), ('h2', 2)")
    rows(db, "HANDLER testapp_author OPEN")
    first = rows(db, "HANDLER testapp_author READ `PRIMARY` FIRST")
    following = rows(db, "HANDLER testapp_author READ `PRIMARY` NEXT")
    rows(db, "HANDLER testapp_author CLOSE")
    assert [row[1] for row in first + following] == ["h1", "h2"]


def test_xa_transaction_stays_on_its_connection(scratch: Scratch) -> None:
    db = scratch.alternating()
    rows(db, "XA START 'xa1'")
    rows(db, "INSERT INTO testapp_author (name, age) VALUES ('xa', 0)")
    rows(db, "XA END 'xa1'")
    rows(db, "XA PREPARE 'xa1'")
    rows(db, "XA COMMIT 'xa1'")
    assert scalar(scratch.wrapper(ONE), "SELECT COUNT(*) FROM testapp_author") == 1


@pytest.mark.parametrize("first", ["SET @x = 1", "CALL no_op()"])
def test_transaction_on_a_session_pinned_connection_really_rolls_back(
    scratch: Scratch, first: str
) -> None:
    db = scratch.wrapper(ONE)
    rows(db, "CREATE PROCEDURE no_op() BEGIN END")
    rows(db, first)  # pins the connection for session state, autocommit on
    db.set_autocommit(False)
    rows(db, "INSERT INTO testapp_author (name, age) VALUES ('undone', 0)")
    db.rollback()
    db.set_autocommit(True)
    assert scalar(db, "SELECT COUNT(*) FROM testapp_author") == 0
    assert scalar(db, "SELECT @@SESSION.autocommit") == 1


def test_constraint_checks_disabled_is_replayed_and_restored(scratch: Scratch) -> None:
    db = scratch.alternating()
    other = scratch.wrapper(ALTERNATING, alias="alternating")
    with db.constraint_checks_disabled():
        rows(db, "INSERT INTO testapp_book (title, author_id, pages) VALUES ('orphan', 999, 1)")
        # Meanwhile another user of the same two connections has the checks on.
        for _ in range(3):
            assert scalar(other, "SELECT @@SESSION.foreign_key_checks") == 1
        rows(db, "INSERT INTO testapp_book (title, author_id, pages) VALUES ('orphan', 998, 1)")
        assert db.pool_stats()["session_pins"] == 0
    assert scalar(db, "SELECT @@SESSION.foreign_key_checks") == 1
    db.close()
    assert scalar(scratch.wrapper(ONE), "SELECT COUNT(*) FROM testapp_book") == 2


# -- raw DB-API connection ------------------------------------------------------------------------


def test_raw_connection_use_pins_but_escaping_does_not(scratch: Scratch) -> None:
    db = scratch.wrapper(ONE)
    db.ensure_connection()
    quoted = db.connection.escape("it's", db.connection.encoders)
    assert (quoted.decode() if isinstance(quoted, bytes) else quoted) == "'it\\'s'"
    # The same on every pooled connection: answered without a pin.
    assert db.connection.get_server_info()
    assert db.connection.character_set_name()
    assert db.pool_stats()["in_use"] == 0
    # The server session's own identity: the caller keeps that session.
    assert db.connection.thread_id() == session_id(db)
    assert db.pool_stats()["in_use"] == 1
    db.close()
    assert db.pool_stats()["in_use"] == 0


def test_schema_editor_quote_value_needs_no_pin(scratch: Scratch) -> None:
    db = scratch.wrapper(ONE)
    with db.schema_editor() as editor:
        assert editor.quote_value("x'y") == "'x\\'y'"
    assert db.pool_stats()["in_use"] == 0


# -- the explicit API ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_pinned_keeps_one_connection_and_nests() -> None:
    db = connections["default"]
    with django_pooled_mysql.pinned():
        first = session_id(db)
        with django_pooled_mysql.pinned("default"):
            assert session_id(db) == first
        assert session_id(db) == first
        assert django_pooled_mysql.pool_stats()["in_use"] == 1
    assert django_pooled_mysql.pool_stats()["in_use"] == 0


@pytest.mark.django_db(transaction=True)
def test_pinned_block_that_sets_state_keeps_the_pin_until_close() -> None:
    db = connections["default"]
    with django_pooled_mysql.pinned():
        rows(db, "SET @inside = 1")
    assert django_pooled_mysql.pool_stats()["in_use"] == 1
    assert scalar(db, "SELECT @inside") == 1
    db.close()
    assert django_pooled_mysql.pool_stats()["in_use"] == 0


# -- logging and stats ----------------------------------------------------------------------------


def test_debug_log_names_the_statement_kind(
    scratch: Scratch, caplog: pytest.LogCaptureFixture
) -> None:
    db = scratch.wrapper(ONE)
    with caplog.at_level(logging.DEBUG, logger="django_pooled_mysql"):
        rows(db, "CREATE TEMPORARY TABLE t_log (x INT)")
    assert any("CREATE TEMPORARY TABLE" in record.getMessage() for record in caplog.records)


def test_plain_orm_statements_never_pin(scratch: Scratch) -> None:
    db = scratch.wrapper(ONE)
    for sql in (
        "SELECT `testapp_author`.`id` FROM `testapp_author` WHERE `name` = %s",
        "INSERT INTO `testapp_author` (`name`, `age`) VALUES (%s, 1)",
        "UPDATE `testapp_author` SET `name` = %s",
        "DELETE FROM `testapp_author` WHERE `name` = %s",
    ):
        rows(db, sql, ["someone@example.com"])
        assert db.pool_stats()["in_use"] == 0
    assert db.pool_stats()["session_pins"] == 0


# -- many concurrent workers ------------------------------------------------------------------


def test_setters_and_readers_concurrently_never_share_state(scratch: Scratch) -> None:
    make = scratch.factory({"pool_size": 4, "max_overflow": 20})
    baseline_db = make()
    baseline = fresh_values(baseline_db)
    baseline_db.close()
    setters_ready = threading.Barrier(10)

    def setter(i: int) -> int:
        db = make()
        rows(db, "SET @leak = 42")
        rows(db, "SET SESSION sql_mode = 'ANSI_QUOTES'")
        rows(db, "SET SESSION foreign_key_checks = 0")
        setters_ready.wait()
        wrong = sum(fresh_values(db) != (42, "ANSI_QUOTES", 0) for _ in range(40))
        db.close()
        return wrong

    def reader(i: int) -> int:
        db = make()
        wrong = 0
        for _ in range(40):
            wrong += fresh_values(db) != baseline
            db.close()  # a new request each time, on whichever connection is free
        return wrong

    results = run_threads(30, lambda i: setter(i) if i < 10 else reader(i))
    assert results == [0] * 30


def test_thirty_workers_with_same_named_temporary_tables(scratch: Scratch) -> None:
    make = scratch.factory({"pool_size": 4, "max_overflow": 26})

    def worker(i: int) -> list[Any]:
        db = make()
        rows(db, "CREATE TEMPORARY TABLE scratch_tmp (owner INT)")
        rows(db, "INSERT INTO scratch_tmp VALUES (%s)", [i])
        seen = [row[0] for row in rows(db, "SELECT owner FROM scratch_tmp")]
        db.close()
        return seen

    assert run_threads(30, worker) == [[i] for i in range(30)]


def test_get_lock_forgotten_by_the_code_is_released_when_the_request_ends(
    scratch: Scratch,
) -> None:
    forgetful = scratch.wrapper({"pool_size": 2, "max_overflow": 0})
    assert scalar(forgetful, "SELECT GET_LOCK('forgotten', 0)") == 1
    other = scratch.wrapper({"pool_size": 2, "max_overflow": 0})
    assert scalar(other, "SELECT GET_LOCK('forgotten', 0)") == 0
    forgetful.close()  # request_finished closes the connection; the code never released
    # The server frees the lock as it finishes closing that session: wait for it there.
    assert scalar(other, "SELECT GET_LOCK('forgotten', 5)") == 1


# -- ecosystem code ------------------------------------------------------------------------------


def warm_two_idle_connections(alias: str) -> None:
    """Leave two idle connections in the alias's pool so unpinned statements could alternate."""
    holders = [connections[alias], connections.create_connection(alias)]
    for holder in holders:
        holder.set_autocommit(False)
        scalar(holder, "SELECT 1")
    for holder in holders:
        holder.commit()
        holder.set_autocommit(True)
    holders[1].close()


@pytest.mark.django_db(transaction=True)
def test_django_mysql_lock_acquire_and_release_in_separate_cursors() -> None:
    from django_mysql.locks import Lock

    warm_two_idle_connections("default")
    with Lock("pooled-test-lock", acquire_timeout=1) as lock:
        assert lock.is_held()
        assert lock.holding_connection_id() == session_id(connections["default"])
    assert not lock.is_held()


@pytest.mark.django_db(transaction=True)
def test_django_mysql_table_lock_unlocks_after_leaving_atomic() -> None:
    from django_mysql.locks import TableLock

    from tests.testapp.models import Author

    warm_two_idle_connections("default")
    with TableLock(write=[Author]):
        Author.objects.create(name="under table lock")
    # UNLOCK TABLES reached the locking session: another connection can write again.
    other = connections.create_connection("default")
    try:
        rows(other, "INSERT INTO testapp_author (name, age) VALUES ('after', 0)")
    finally:
        other.close()
    assert Author.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_loaddata_with_forward_references(tmp_path: Path) -> None:
    from tests.testapp.models import Book

    fixture = tmp_path / "forward.json"
    fixture.write_text(
        json.dumps(
            [
                {"model": "testapp.book", "pk": 1, "fields": {"title": "B", "author": 7}},
                {"model": "testapp.author", "pk": 7, "fields": {"name": "A", "age": 1}},
            ]
        )
    )
    call_command("loaddata", str(fixture), verbosity=0)
    assert Book.objects.get(pk=1).author.name == "A"
    connections["default"].close()
    assert django_pooled_mysql.pool_stats()["in_use"] == 0
    with transaction.atomic():
        assert scalar(connections["default"], "SELECT @@SESSION.foreign_key_checks") == 1
