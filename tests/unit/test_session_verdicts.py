"""The statement classifier's remembered verdicts (pure function: no database needed)."""

from __future__ import annotations

import pytest

from django_pooled_mysql import session

STATEMENTS = [
    ("SELECT `a`.`id` FROM `a` WHERE `a`.`id` = %s LIMIT 21", None),
    ("SET @x = 1", "SET"),
    ("select get_lock('x', 0)", "GET_LOCK()"),
    ("INSERT INTO t (a) VALUES (1); SET @y := 2", "SET"),
    ("CREATE TEMPORARY TABLE t (a int)", "CREATE TEMPORARY TABLE"),
]


@pytest.mark.parametrize(("sql", "verdict"), STATEMENTS)
def test_a_remembered_verdict_is_the_same_as_the_first(sql: str, verdict: str | None) -> None:
    session._verdicts.clear()
    assert session.session_effect(sql) == verdict
    assert sql in session._verdicts
    assert session.session_effect(sql) == verdict
    # bytes and bytearray texts are classified alike, without being remembered.
    assert session.session_effect(sql.encode()) == verdict
    assert session.session_effect(bytearray(sql.encode())) == verdict


def test_long_texts_are_classified_but_not_remembered() -> None:
    session._verdicts.clear()
    long_insert = "INSERT INTO t (a) VALUES " + ", ".join(["(%s)"] * 1000)
    stateful = long_insert + "; SET @z = 1"
    assert session.session_effect(long_insert) is None
    assert session.session_effect(stateful) == "SET"
    assert session._verdicts == {}


def test_the_memory_is_bounded() -> None:
    session._verdicts.clear()
    for i in range(session._VERDICTS_MAX * 2 + 10):
        assert session.session_effect("SELECT %d" % i) is None
    assert 0 < len(session._verdicts) <= session._VERDICTS_MAX
    assert session.session_effect("SET @after_the_refill = 1") == "SET"
