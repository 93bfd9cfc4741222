"""Session state read as the server reads it (issue 13), end to end on a real server.

What the lexer decides (tests/unit/sql/test_rules.py has the full table) must hold on the
wire: statements that leave state pin, those that do not stay on statement leases; state made
where the text does not show it (triggers, stored functions) is caught by the server's
session-state tracker; and what a statement leaves for the next one (LAST_INSERT_ID(),
ROW_COUNT(), warnings, ...) is read from this Django connection's own statements, with eight
workers sharing two pooled connections, exactly as the stock backend answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.driver import DRIVER
from tests.support.helpers import Admin, Scratch, rows, run_threads, scalar, session_id

# Eight workers on two connections: every statement lease may land on the other's session.
SHARED = {"pool_size": 2, "max_overflow": 0, "use_lifo": False, "timeout": 30}
WORKERS = 8


# -- what pins, what does not ---------------------------------------------------------------------

PINS = [
    "/*!40101 SET NAMES utf8mb4, @y = 2 */",
    "/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */",
    "/* traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' */ "
    "CREATE TEMPORARY TABLE tmp_rule (x INT)",
    "-- a note\nSET @x = 1",
    "SELECT 1 INTO @x",
    "LOCK TABLES testapp_author READ",
    "FLUSH TABLES testapp_author WITH READ LOCK",
    "SELECT NEXTVAL(rule_seq)",
]
NO_PIN = [
    "/*!40101 SET NAMES utf8mb4 */",  # replayed on each lease (test_session_variables.py)
    "SELECT name AS target_locked, age AS budget_lock_reason FROM testapp_author",
    "SELECT 'step 1; set flag', 'get_lock(x, 1)'",
    "SET STATEMENT max_statement_time = 5 FOR SELECT 1",
    "EXPLAIN SELECT GET_LOCK('never-taken', 1)",
    "CREATE PROCEDURE rule_proc() BEGIN DECLARE x INT; SET @x = 1; SELECT x; END",
    "SELECT `get_lock` FROM (SELECT 1 AS `get_lock`) AS t",
    "SELECT /* SET @x = 1 */ 1",
]


@pytest.mark.parametrize("sql", PINS)
def test_a_statement_that_leaves_state_pins_until_close(
    scratch: Scratch, admin: Admin, sql: str
) -> None:
    admin.query("CREATE SEQUENCE IF NOT EXISTS %s.rule_seq" % scratch.name)
    db = scratch.wrapper(SHARED)
    rows(db, sql)
    stats = db.pool_stats()
    assert (stats["in_use"], stats["session_pins"]) == (1, 1), stats
    # Unlocked before the next statement so that FLUSH ... WITH READ LOCK blocks nothing else.
    if "LOCK" in sql:
        rows(db, "UNLOCK TABLES")
    # Until close(), every statement runs on the pinned session (one not routed to it would
    # open the pool's second connection).
    pinned = scalar(db, "SELECT CONNECTION_ID()")
    assert [session_id(db) for _ in range(2)] == [pinned] * 2
    db.close()
    assert db.pool_stats()["in_use"] == 0


@pytest.mark.parametrize("sql", NO_PIN)
def test_a_statement_that_leaves_none_stays_on_a_statement_lease(
    scratch: Scratch, admin: Admin, sql: str
) -> None:
    db = scratch.wrapper(SHARED)
    rows(db, sql)
    stats = db.pool_stats()
    assert (stats["in_use"], stats["session_pins"]) == (0, 0), stats
    assert admin.query("SELECT IS_FREE_LOCK('never-taken')") == [(1,)]
    db.close()


# -- state the text does not show: the server's session tracker ----------------------------------

needs_tracker = pytest.mark.skipif(
    DRIVER != "mysqlclient",
    reason="the session-state tracker is read through mysqlclient's native handle; PyMySQL "
    "exposes no server status after result sets (docs/session-state.md)",
)


@needs_tracker
def test_a_trigger_setting_a_user_variable_keeps_it_with_its_worker(
    scratch: Scratch, admin: Admin
) -> None:
    admin.query(
        "CREATE TABLE %s.uuids (id INT AUTO_INCREMENT PRIMARY KEY, uuid CHAR(36))" % scratch.name
    )
    admin.query(
        "CREATE TRIGGER %s.remember_uuid BEFORE INSERT ON %s.uuids "
        "FOR EACH ROW SET @last_uuid = NEW.uuid" % (scratch.name, scratch.name)
    )
    make = scratch.factory(SHARED)

    def worker(i: int) -> int:
        wrong = 0
        for _ in range(25):
            db = make()  # a request
            mine = str(uuid.uuid4())
            rows(db, "INSERT INTO uuids (uuid) VALUES (%s)", [mine])
            if scalar(db, "SELECT @last_uuid") != mine:
                wrong += 1
            db.close()
        return wrong

    # Before the tracker: 197 of 200 reads returned another worker's value or NULL.
    assert run_threads(WORKERS, worker) == [0] * WORKERS
    # And nobody else ever sees a worker's variable: the sessions were reset.
    fresh = make()
    assert scalar(fresh, "SELECT @last_uuid") is None


@needs_tracker
def test_a_stored_function_setting_a_user_variable_pins(scratch: Scratch, admin: Admin) -> None:
    admin.query(
        "CREATE FUNCTION %s.remember(v INT) RETURNS INT DETERMINISTIC "
        "BEGIN SET @remembered = v; RETURN v; END" % scratch.name
    )
    make = scratch.factory(SHARED)

    def worker(i: int) -> bool:
        db = make()
        rows(db, "SELECT remember(%s)", [i])
        seen = scalar(db, "SELECT @remembered")
        db.close()
        return seen == i

    assert run_threads(WORKERS, worker) == [True] * WORKERS


# -- what a statement leaves for the next one, against the stock backend --------------------------


def compare_with_stock(scratch: Scratch, scenario: Callable[[Any, int], Any]) -> list[Any]:
    """Run scenario(db, worker) in eight workers on this ENGINE (two shared connections) and on
    the stock backend (one connection each); both must see the same."""
    pooled = scratch.factory(SHARED)
    stock = scratch.factory(False, alias="stock_rules")

    def run(make: Callable[[], Any]) -> list[Any]:
        def worker(i: int) -> Any:
            db = make()
            try:
                return scenario(db, i)
            finally:
                db.close()

        return run_threads(WORKERS, worker)

    seen = run(pooled)
    assert seen == run(stock)
    return seen


def test_last_insert_id_after_an_insert(scratch: Scratch) -> None:
    def scenario(db: Any, i: int) -> Any:
        with db.cursor() as cursor:
            cursor.execute("INSERT INTO testapp_author (name, age) VALUES (%s, %s)", ["w", i])
            generated = cursor.lastrowid
        return scalar(db, "SELECT LAST_INSERT_ID()") == generated

    assert compare_with_stock(scratch, scenario) == [True] * WORKERS


def test_last_insert_id_after_an_orm_create(scratch: Scratch) -> None:
    # On MariaDB the ORM inserts with RETURNING: the driver reports no insert id at all.
    from django.db import connections

    from tests.testapp.models import Author

    def scenario(db: Any, i: int) -> Any:
        # The ORM's own Django connection for this thread (the scratch wrapper is unused).
        orm = connections[db.alias]
        try:
            author = Author.objects.using(db.alias).create(name="orm", age=i)
            return scalar(orm, "SELECT LAST_INSERT_ID()") == author.pk
        finally:
            orm.close()

    with _aliases(scratch):
        assert compare_with_stock(scratch, scenario) == [True] * WORKERS


def test_last_insert_id_ignores_an_explicit_id_and_survives_atomic(scratch: Scratch) -> None:
    def scenario(db: Any, i: int) -> Any:
        db.set_autocommit(False)
        with db.cursor() as cursor:
            cursor.execute("INSERT INTO testapp_author (name, age) VALUES ('in atomic', %s)", [i])
            generated = cursor.lastrowid
        db.commit()
        db.set_autocommit(True)
        after_atomic = scalar(db, "SELECT LAST_INSERT_ID()") == generated
        # Spaced so that no worker's generated id (the table's maximum + 1, and the workers
        # run at once) can be another worker's explicit id, on either backend.
        explicit = 100000 + 1000 * i + (500 if db.pooled else 0)
        rows(
            db, "INSERT INTO testapp_author (id, name, age) VALUES (%s, 'explicit', 0)", [explicit]
        )
        # LAST_INSERT_ID() changes only for generated values.
        after_explicit = scalar(db, "SELECT LAST_INSERT_ID()") == generated
        rows(db, "SET @pins = 1")  # a fresh session pinned: still this connection's own value
        after_pin = scalar(db, "SELECT LAST_INSERT_ID()") == generated
        return after_atomic, after_explicit, after_pin

    assert compare_with_stock(scratch, scenario) == [(True, True, True)] * WORKERS


def test_row_count_and_found_rows_of_the_previous_statement(scratch: Scratch) -> None:
    def scenario(db: Any, i: int) -> Any:
        name = "rc-%d-%s" % (i, "pooled" if db.pooled else "stock")
        for _ in range(i + 1):
            rows(db, "INSERT INTO testapp_author (name, age) VALUES (%s, 0)", [name])
        rows(db, "UPDATE testapp_author SET age = age + 1 WHERE name = %s", [name])
        updated = scalar(db, "SELECT ROW_COUNT()")
        rows(db, "SELECT id FROM testapp_author WHERE name = %s", [name])
        found = scalar(db, "SELECT FOUND_ROWS()")
        after_select = scalar(db, "SELECT ROW_COUNT() + 0 AS n")
        return updated, found, after_select

    assert compare_with_stock(scratch, scenario) == [(i + 1, i + 1, -1) for i in range(WORKERS)]


def test_warnings_of_the_previous_statement(scratch: Scratch) -> None:
    def scenario(db: Any, i: int) -> Any:
        text = "%dabc" % i
        rows(db, "SELECT CAST(%s AS SIGNED)", [text])
        count = scalar(db, "SELECT @@warning_count")
        warnings = [row[2] for row in rows(db, "SHOW WARNINGS")]
        rows(db, "SELECT 1")  # uses no table: the server keeps the warnings
        kept = [row[2] for row in rows(db, "SHOW WARNINGS")]
        rows(db, "SELECT COUNT(*) FROM testapp_author")  # uses a table: they are cleared
        cleared = rows(db, "SHOW WARNINGS")
        return count, warnings, kept, cleared

    seen = compare_with_stock(scratch, scenario)
    warning = "Truncated incorrect INTEGER value: '%dabc'"
    assert seen == [(1, [warning % i], [warning % i], []) for i in range(WORKERS)]


def test_get_diagnostics_and_errors_of_the_previous_statement(scratch: Scratch) -> None:
    from django.db import ProgrammingError

    def scenario(db: Any, i: int) -> Any:
        rows(db, "SELECT CAST(%s AS SIGNED)", ["%dx" % i])
        rows(db, "GET DIAGNOSTICS @conditions = NUMBER")
        conditions = scalar(db, "SELECT @conditions")
        try:
            rows(db, "SELECT * FROM no_such_table_%d" % i)
        except ProgrammingError:
            pass
        errors = [(row[0], row[1]) for row in rows(db, "SHOW ERRORS")]
        return conditions, errors

    seen = compare_with_stock(scratch, scenario)
    assert seen == [(1, [("Error", 1146)])] * WORKERS


class _aliases:
    """Make the scratch wrappers reachable through the ORM's using=alias."""

    def __init__(self, scratch: Scratch) -> None:
        self.scratch = scratch

    def __enter__(self) -> None:
        from django.db import connections

        for alias, pool in (("scratch", SHARED), ("stock_rules", False)):
            connections.settings[alias] = self.scratch.settings(pool)
            self.scratch.aliases.add(alias)

    def __exit__(self, *exc: object) -> None:
        from django.db import connections

        for alias in ("scratch", "stock_rules"):
            connections.settings.pop(alias, None)
            if hasattr(connections._connections, alias):
                delattr(connections._connections, alias)


def test_a_transaction_keeps_the_servers_own_answers(scratch: Scratch) -> None:
    # Inside a transaction every statement runs on one session: the server answers itself.
    db = scratch.wrapper(SHARED)
    with _atomic(db):
        rows(db, "INSERT INTO testapp_author (name, age) VALUES ('t', 1), ('u', 2)")
        assert scalar(db, "SELECT ROW_COUNT()") == 2
    db.close()


class _atomic:
    def __init__(self, db: Any) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.set_autocommit(False)

    def __exit__(self, *exc: object) -> None:
        self.db.commit()
        self.db.set_autocommit(True)
