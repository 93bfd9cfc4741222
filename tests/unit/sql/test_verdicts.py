"""sql/verdicts.py: the bounded memory of verdicts, reader_spans, the Verdict record."""

from __future__ import annotations

import pytest

from django_pooled_mysql.sql import Verdict, classify, verdicts
from tests.unit.sql.expected import INSERT, fields

# --- The remembered verdicts.


def test_a_verdict_is_remembered_per_text() -> None:
    verdicts._verdicts.clear()
    sql = "SELECT `a`.`id` FROM `a` WHERE `a`.`id` = %s -- " + "x" * 10
    first = classify(sql)
    assert verdicts._verdicts == {sql: first}
    assert classify(sql) is first
    stateful = "SET @x = 1"
    assert classify(stateful).leaves == "SET"
    assert verdicts._verdicts[stateful] is classify(stateful)


def test_bytes_are_classified_but_not_remembered() -> None:
    verdicts._verdicts.clear()
    assert classify(b"SET @x = 1").leaves == "SET"
    assert classify(bytearray(b"LOCK TABLES t WRITE")).leaves == "LOCK TABLES"
    assert classify("SELECT '\u00e9'".encode()) == classify("SELECT '\u00e9'")
    assert classify(b"SELECT '\xff'").leaves is None  # invalid UTF-8 is replaced, not fatal
    assert list(verdicts._verdicts) == ["SELECT '\u00e9'"]  # the str text only


def test_long_texts_are_classified_but_not_remembered() -> None:
    verdicts._verdicts.clear()
    bulk = "INSERT INTO `t` (`a`, `b`) VALUES " + ", ".join(["(%s, %s)"] * 20000)
    assert len(bulk) > verdicts._CACHED_TEXT_MAX  # too long to be remembered
    assert fields(classify(bulk)) == INSERT
    assert classify(bulk + "; SET @z = 1").leaves == "SET"
    assert classify(bulk + ", (GET_LOCK('a', 0), 1)").leaves == "GET_LOCK()"
    assert verdicts._verdicts == {}


def test_the_memory_is_bounded() -> None:
    verdicts._verdicts.clear()
    for i in range(verdicts._VERDICTS_MAX * 2 + 10):
        assert classify("SELECT %d" % i).leaves is None
    assert 0 < len(verdicts._verdicts) <= verdicts._VERDICTS_MAX
    assert classify("SET @after_the_refill = 1").leaves == "SET"
    assert "SET @after_the_refill = 1" in verdicts._verdicts


# --- reader_spans: the first statement's readers, where they are in the text.


def substituted(sql: str, values: dict[str, str]) -> str:
    verdict = classify(sql)
    for start, end, name in sorted(verdict.reader_spans, reverse=True):
        sql = sql[:start] + values[name] + sql[end:]
    return sql


VALUES = {
    "LAST_INSERT_ID()": "42",
    "ROW_COUNT()": "1",
    "FOUND_ROWS()": "7",
    "@@IDENTITY": "42",
    "@@LAST_INSERT_ID": "42",
    "@@WARNING_COUNT": "0",
    "@@ERROR_COUNT": "0",
}


@pytest.mark.parametrize(
    ("sql", "intended"),
    [
        ("SELECT LAST_INSERT_ID()", "SELECT 42"),
        ("select last_insert_id ( ) AS `id`", "select 42 AS `id`"),
        ("SELECT LAST_INSERT_ID(/* none */)", "SELECT 42"),
        (
            "SELECT ROW_COUNT(), FOUND_ROWS(), @@IDENTITY, @@session.last_insert_id, "
            "@@LOCAL.warning_count, @@error_count",
            "SELECT 1, 7, 42, 42, 0, 0",
        ),
        ("/*!40000 SELECT LAST_INSERT_ID() */", "/*!40000 SELECT 42 */"),
        ("SELECT '\u00e9t\u00e9', LAST_INSERT_ID()", "SELECT '\u00e9t\u00e9', 42"),
        (
            "INSERT INTO t (a, b) VALUES (LAST_INSERT_ID(), %s)",
            "INSERT INTO t (a, b) VALUES (42, %s)",
        ),
        ("SET @x = LAST_INSERT_ID()", "SET @x = 42"),
        (
            "SET STATEMENT max_statement_time=1 FOR SELECT FOUND_ROWS()",
            "SET STATEMENT max_statement_time=1 FOR SELECT 7",
        ),
        # Only the first statement's readers: the second one's read the first one's state.
        ("SELECT ROW_COUNT(); SELECT LAST_INSERT_ID()", "SELECT 1; SELECT LAST_INSERT_ID()"),
    ],
)
def test_reader_spans_substitute_into_the_text(sql: str, intended: str) -> None:
    assert substituted(sql, VALUES) == intended


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1; SELECT LAST_INSERT_ID()",  # reads, but in the second statement
        "BEGIN NOT ATOMIC INSERT INTO t VALUES (1); SELECT LAST_INSERT_ID(); END",
        "SELECT LASTVAL(s), PREVIOUS VALUE FOR s",  # per sequence: no single value
        "SHOW WARNINGS",
        "SELECT LAST_INSERT_ID(5)",
    ],
)
def test_no_reader_spans(sql: str) -> None:
    verdict = classify(sql)
    assert verdict.reader_spans == ()
    assert verdict.reads_previous or verdict.leaves


def test_reader_spans_are_positions_and_names() -> None:
    assert classify("SELECT 1, LAST_INSERT_ID()").reader_spans == ((10, 26, "LAST_INSERT_ID()"),)
    assert classify("SELECT @@identity").reader_spans == ((7, 17, "@@IDENTITY"),)


# --- The verdict record.


def test_verdicts_are_frozen_hashable_and_slotted() -> None:
    verdict = classify("SELECT LAST_INSERT_ID()")
    assert hash(verdict) == hash(
        Verdict(
            reads_previous=frozenset({"LAST_INSERT_ID()"}),
            reader_spans=((7, 23, "LAST_INSERT_ID()"),),
        )
    )
    assert not hasattr(verdict, "__dict__")
    with pytest.raises(AttributeError):
        verdict.leaves = "SET"  # type: ignore[misc]
