"""Which SETs are replayed (sql/assignments.py), both ways, and what they replay."""

from __future__ import annotations

import pytest

from django_pooled_mysql.sql import classify
from django_pooled_mysql.sql.assignments import CHARSET, assignments

REPLAYED = [
    ("SET time_zone = '+03:00'", (("time_zone", "@@SESSION.time_zone = '+03:00'"),)),
    ("set session SQL_MODE = 'ANSI'", (("sql_mode", "@@SESSION.sql_mode = 'ANSI'"),)),
    (
        "SET LOCAL lock_wait_timeout = -5",
        (("lock_wait_timeout", "@@SESSION.lock_wait_timeout = -5"),),
    ),
    (
        "SET @@session.foreign_key_checks = OFF",
        (("foreign_key_checks", "@@SESSION.foreign_key_checks = OFF"),),
    ),
    (
        "SET @@time_zone = _utf8mb4'+01:00';",
        (("time_zone", "@@SESSION.time_zone = _utf8mb4'+01:00'"),),
    ),
    ("SET NAMES utf8mb4 COLLATE utf8mb4_bin", ((CHARSET, "NAMES utf8mb4 COLLATE utf8mb4_bin"),)),
    ("SET CHARACTER SET 'latin1'", ((CHARSET, "CHARACTER SET 'latin1'"),)),
    ("SET character_set_results = NULL", ((CHARSET, "@@SESSION.character_set_results = NULL"),)),
    ("/*!40101 SET NAMES utf8 */", ((CHARSET, "NAMES utf8"),)),
    (
        "SET GLOBAL max_connections = 10, SESSION time_zone = DEFAULT",
        (("time_zone", "@@SESSION.time_zone = DEFAULT"),),
    ),
]


@pytest.mark.parametrize(("sql", "expected"), REPLAYED, ids=[row[0] for row in REPLAYED])
def test_replayed(sql: str, expected: tuple[tuple[str, str], ...]) -> None:
    verdict = classify(sql)
    assert verdict.replays == tuple(key for key, _ in expected)
    assert verdict.leaves == "SET"  # for callers that cannot replay (streaming cursors, ...)
    assert assignments(sql) == expected


def test_a_parameter_is_replayed_from_the_text_the_driver_sent() -> None:
    assert classify("SET time_zone = %s").replays == ("time_zone",)
    assert classify("SET time_zone = %(zone)s").replays == ("time_zone",)
    assert assignments("SET time_zone = %s") is None  # the driver's text has the literal
    assert assignments("SET time_zone = '-04:00'") == (
        ("time_zone", "@@SESSION.time_zone = '-04:00'"),
    )


NOT_REPLAYED = [
    "SET @x = 1",
    "SET time_zone = '+01:00', @x = 1",
    "SET autocommit = 0",
    "SET insert_id = 5",
    "SET session_track_state_change = OFF",
    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
    "SET ROLE admin",
    "SET NAMES @x",
    "SET time_zone = '+01:00'; SELECT 1",
    "SELECT 1; SET time_zone = '+01:00'",
    "SET time_zone = CONCAT('+0', '1:00')",
    "BEGIN NOT ATOMIC SET time_zone = '+01:00'; END",
    "SET STATEMENT time_zone = '+01:00' FOR SET sql_mode = ''",
]


@pytest.mark.parametrize("sql", NOT_REPLAYED)
def test_not_replayed(sql: str) -> None:
    assert classify(sql).replays is None
    assert assignments(sql) is None


TRACKED = [
    ("SET sql_mode = CONCAT(@@sql_mode, ',ANSI')", ("sql_mode",)),
    ("SET time_zone = @tz", ("time_zone",)),
    (
        "SET lock_wait_timeout = 40 + 2, time_zone = @@GLOBAL.time_zone",
        ("lock_wait_timeout", "time_zone"),
    ),
    # Values with effects of their own, character sets, user variables: pinned.
    ("SET time_zone = IF(GET_LOCK('x', 0), '+01:00', '+02:00')", None),
    ("SET character_set_client = CONCAT('latin', '1')", None),
    ("SET @x = 1, time_zone = @x", None),
    ("SET time_zone = (SELECT @y := '+01:00')", None),
    ("SET time_zone = '+01:00'", None),  # replayed from its text instead
]


@pytest.mark.parametrize(("sql", "keys"), TRACKED, ids=[row[0] for row in TRACKED])
def test_expressions_left_to_the_servers_tracker(sql: str, keys: tuple[str, ...] | None) -> None:
    verdict = classify(sql)
    assert verdict.tracked == keys
    assert verdict.leaves == "SET"
