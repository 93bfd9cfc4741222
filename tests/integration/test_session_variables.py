"""Session variables are replayed on each lease instead of pinning (issue 26), on a real server.

Users take turns on a pool of one connection, so that each statement lands on the session the
other user's statement just used: every replayable form must reach its own user's statements and
never the other's, with no pin; forms that cannot be replayed still pin until close().
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.driver import DRIVER
from tests.support.helpers import Scratch, rows, run_threads, scalar

ONE = {"pool_size": 1, "max_overflow": 0, "timeout": 5}


# (statement, args, reader, value the statement's user reads)
REPLAYED = [
    ("SET time_zone = '+03:00'", None, "SELECT @@SESSION.time_zone", "+03:00"),
    ("SET SESSION sql_mode = 'ANSI_QUOTES'", None, "SELECT @@SESSION.sql_mode", "ANSI_QUOTES"),
    ("SET LOCAL lock_wait_timeout = 77", None, "SELECT @@SESSION.lock_wait_timeout", 77),
    ("SET @@foreign_key_checks = 0", None, "SELECT @@SESSION.foreign_key_checks", 0),
    ("SET @@session.time_zone = %s", ["-04:00"], "SELECT @@SESSION.time_zone", "-04:00"),
    ("SET @@local.max_statement_time = 30", None, "SELECT @@SESSION.max_statement_time", 30.0),
    ("SET div_precision_increment = 7", None, "SELECT 1 / 3", "0.3333333"),
    (
        "SET sql_mode = 'ANSI', time_zone = '-02:00'",
        None,
        "SELECT CONCAT(@@SESSION.sql_mode, ' ', @@SESSION.time_zone)",
        "REAL_AS_FLOAT,PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,ANSI -02:00",
    ),
    ("SET NAMES latin1", None, "SELECT @@SESSION.character_set_connection", "latin1"),
    ("/*!40101 SET NAMES 'ascii' */", None, "SELECT @@SESSION.character_set_client", "ascii"),
    ("SET CHARACTER SET latin1", None, "SELECT @@SESSION.character_set_results", "latin1"),
    (
        "SET collation_connection = 'utf8mb4_bin'",
        None,
        "SELECT @@SESSION.collation_connection",
        "utf8mb4_bin",
    ),
]


def _value(value: Any) -> Any:
    return str(value) if isinstance(value, (bytes, str)) or not isinstance(value, int) else value


@pytest.mark.parametrize(
    ("setter", "args", "reader", "expected"), REPLAYED, ids=[r[0] for r in REPLAYED]
)
def test_each_replayable_form_reaches_its_user_only(
    scratch: Scratch, setter: str, args: Any, reader: str, expected: Any
) -> None:
    mine = scratch.wrapper(ONE)
    theirs = scratch.wrapper(ONE)
    before = scalar(theirs, reader)
    assert before != expected
    rows(mine, setter, args)
    for _ in range(3):
        # Each statement of each user lands on the one physical connection.
        assert _same(scalar(mine, reader), expected)
        assert _same(scalar(theirs, reader), before)
    stats = mine.pool_stats()
    assert (stats["session_pins"], stats["in_use"], stats["open"]) == (0, 0, 1), stats
    # theirs back, mine back, ...: one SET each way per turn, none when it already holds.
    replays = stats["variable_replays"]
    assert replays == 5, stats
    scalar(mine, reader)
    scalar(mine, reader)
    assert mine.pool_stats()["variable_replays"] == replays + 1
    mine.close()
    # A new Django connection (the next request) starts from the pool's settings again.
    assert scalar(mine, reader) == before
    theirs.close()


def _same(got: Any, expected: Any) -> bool:
    if isinstance(got, bytes):
        got = got.decode()
    if isinstance(expected, float):
        return float(got) == expected
    return str(got) == str(expected)


PINNED = [
    # (an expression is replayed where the server's tracker can be read: below)
    "SET time_zone = IF(GET_LOCK('variables_test', 0), '+01:00', '+02:00')",
    "SET character_set_client = CONCAT('latin', '1')",
    "SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE",
    "SET @x = 1, time_zone = '+01:00'",
    "SET insert_id = 1000",
]


@pytest.mark.parametrize("setter", PINNED)
def test_forms_that_cannot_be_replayed_still_pin(scratch: Scratch, setter: str) -> None:
    db = scratch.wrapper(ONE)
    rows(db, setter)
    stats = db.pool_stats()
    assert (stats["session_pins"], stats["in_use"]) == (1, 1), stats
    db.close()
    stats = db.pool_stats()
    assert (stats["in_use"], stats["resets"]) == (0, 1), stats


@pytest.mark.skipif(DRIVER != "mysqlclient", reason="PyMySQL runs one statement per text")
def test_a_set_beside_another_statement_pins(scratch: Scratch) -> None:
    db = scratch.wrapper(ONE)
    rows(db, "SET time_zone = '+01:00'; SELECT 1")
    assert db.pool_stats()["session_pins"] == 1
    assert scalar(db, "SELECT @@SESSION.time_zone") == "+01:00"
    db.close()


def test_a_value_back_to_the_baseline_needs_no_replay(scratch: Scratch) -> None:
    # Django's disable/enable_constraint_checking(): 0, then back to 1.
    db = scratch.wrapper(ONE)
    other = scratch.wrapper(ONE)
    rows(db, "SET foreign_key_checks = 0")
    assert scalar(db, "SELECT @@SESSION.foreign_key_checks") == 0
    rows(db, "SET foreign_key_checks = 1")
    replays = db.pool_stats()["variable_replays"]
    for _ in range(3):
        assert scalar(other, "SELECT @@SESSION.foreign_key_checks") == 1
        assert scalar(db, "SELECT @@SESSION.foreign_key_checks") == 1
    assert db.pool_stats()["variable_replays"] == replays
    assert db.pool_stats()["session_pins"] == 0


def test_variables_follow_into_transactions_and_pins(scratch: Scratch) -> None:
    db = scratch.wrapper(ONE)
    other = scratch.wrapper(ONE)
    rows(db, "SET time_zone = '+07:00'")
    with db.cursor() as cursor:
        db.set_autocommit(False)
        cursor.execute("SELECT @@SESSION.time_zone")
        assert cursor.fetchone()[0] == "+07:00"
        # Set inside the transaction: kept after it, as on the server.
        cursor.execute("SET time_zone = '+08:00'")
        db.rollback()
        db.set_autocommit(True)
    assert scalar(other, "SELECT @@SESSION.time_zone") == "SYSTEM"
    assert scalar(db, "SELECT @@SESSION.time_zone") == "+08:00"
    # A session pin (a user variable) starts on a connection brought to the values.
    rows(db, "SET @mine = 1")
    assert scalar(db, "SELECT CONCAT(@mine, @@SESSION.time_zone)") == "1+08:00"
    db.close()
    assert scalar(other, "SELECT @mine IS NULL") == 1
    assert scalar(other, "SELECT @@SESSION.time_zone") == "SYSTEM"


def test_an_idle_owner_never_blocks_a_waiter(scratch: Scratch) -> None:
    # The owner set a variable and went idle (a request waiting on an upstream call): the
    # only connection is free for another thread meanwhile.
    owner = scratch.wrapper(ONE)
    rows(owner, "SET time_zone = '+05:30'")
    answers: list[Any] = []

    def other_thread(_: int) -> None:
        db = scratch.wrapper(ONE)
        answers.append(scalar(db, "SELECT @@SESSION.time_zone"))
        db.close()

    run_threads(1, other_thread, timeout=30)
    assert answers == ["SYSTEM"]
    assert scalar(owner, "SELECT @@SESSION.time_zone") == "+05:30"
    owner.close()


def test_threads_with_their_own_values_share_two_connections(scratch: Scratch) -> None:
    zones = ["+0%d:00" % n for n in range(8)]
    factory = scratch.factory({"pool_size": 2, "max_overflow": 0, "timeout": 30})
    wrong: list[tuple[str, Any]] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        db = factory()
        rows(db, "SET time_zone = %s", [zones[n]])
        for _ in range(25):
            got = scalar(db, "SELECT @@SESSION.time_zone")
            if got != zones[n]:
                with lock:
                    wrong.append((zones[n], got))
        db.close()

    run_threads(len(zones), worker)
    assert wrong == []


def test_a_failed_set_changes_nothing(scratch: Scratch) -> None:
    from django.db import DatabaseError

    db = scratch.wrapper(ONE)
    rows(db, "SET time_zone = '+02:00'")
    with pytest.raises(DatabaseError):
        rows(db, "SET sql_mode = 'ANSI', time_zone = 'No/Such_Zone'")
    assert scalar(db, "SELECT CONCAT(@@SESSION.sql_mode, @@SESSION.time_zone)") != "ANSI+02:00"
    assert scalar(db, "SELECT @@SESSION.time_zone") == "+02:00"
    other = scratch.wrapper(ONE)
    assert scalar(other, "SELECT @@SESSION.time_zone") == "SYSTEM"


# -- values only the server can tell: its session-variable tracker (mysqlclient) ------------------

needs_tracker = pytest.mark.skipif(
    DRIVER != "mysqlclient",
    reason="the tracker's values are read through mysqlclient's native handle (PyMySQL pins: "
    "test_an_expression_pins_where_the_tracker_cannot_be_read)",
)


@needs_tracker
@pytest.mark.parametrize(
    ("setter", "reader", "expected"),
    [
        (
            "SET sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')",
            "SELECT FIND_IN_SET('ANSI_QUOTES', @@SESSION.sql_mode) > 0",
            1,
        ),
        ("SET time_zone = CONCAT('+0', '6:00')", "SELECT @@SESSION.time_zone", "+06:00"),
        ("SET lock_wait_timeout = 40 + 2", "SELECT @@SESSION.lock_wait_timeout", 42),
    ],
)
def test_an_expression_is_replayed_with_the_value_the_server_reports(
    scratch: Scratch, setter: str, reader: str, expected: Any
) -> None:
    mine = scratch.wrapper(ONE)
    theirs = scratch.wrapper(ONE)
    before = scalar(theirs, reader)
    rows(mine, setter)
    for _ in range(2):
        assert _same(scalar(mine, reader), expected)
        assert _same(scalar(theirs, reader), before)
    stats = mine.pool_stats()
    assert (stats["session_pins"], stats["in_use"]) == (0, 0), stats


@needs_tracker
def test_tracker_values_win_over_the_text(scratch: Scratch) -> None:
    # 'ansi' is what the text says, REAL_AS_FLOAT,...,ANSI what the session holds: two users
    # who set the same mode in both spellings need no replay between them.
    one = scratch.wrapper(ONE)
    other = scratch.wrapper(ONE)
    rows(one, "SET sql_mode = 'ansi'")
    rows(other, "SET sql_mode = 'REAL_AS_FLOAT,PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,ANSI'")
    replays = one.pool_stats()["variable_replays"]
    for _ in range(3):
        assert scalar(one, "SELECT @@SESSION.sql_mode") == scalar(
            other, "SELECT @@SESSION.sql_mode"
        )
    assert one.pool_stats()["variable_replays"] == replays


@pytest.mark.skipif(DRIVER == "mysqlclient", reason="mysqlclient reads the tracker")
def test_an_expression_pins_where_the_tracker_cannot_be_read(scratch: Scratch) -> None:
    db = scratch.wrapper(ONE)
    rows(db, "SET time_zone = CONCAT('+0', '6:00')")
    stats = db.pool_stats()
    assert (stats["session_pins"], stats["in_use"]) == (1, 1), stats
    assert scalar(db, "SELECT @@SESSION.time_zone") == "+06:00"
    db.close()


def test_a_new_pool_reads_its_baselines_before_answering_a_set_it_has_seen(
    scratch: Scratch,
) -> None:
    # A SET answered before is not sent again; a pool made later (close_pool(), fork()) must
    # still learn the value to give back, or it would close connections to undo the SET.
    first = scratch.wrapper(ONE)
    rows(first, "SET time_zone = '+09:00'")
    first.close_pool()
    mine = scratch.wrapper(ONE)
    theirs = scratch.wrapper(ONE)
    rows(mine, "SET time_zone = '+09:00'")
    connects = mine.pool_stats()["connects"]
    for _ in range(3):
        assert scalar(mine, "SELECT @@SESSION.time_zone") == "+09:00"
        assert scalar(theirs, "SELECT @@SESSION.time_zone") == "SYSTEM"
    stats = mine.pool_stats()
    assert (stats["connects"], stats["invalidations"]) == (connects, 0), stats
