"""sql/inserts.py: describe_insert(), the shape of one INSERT/REPLACE text."""

from __future__ import annotations

from typing import Any

import pytest

from django_pooled_mysql.sql import (
    IDENT,
    NUMBER,
    OP,
    PARAM,
    STRING,
    WORD,
    InsertShape,
    describe_insert,
)


def values_of(shape: InsertShape | None) -> list[list[list[str]]] | None:
    assert shape is not None
    if shape.rows is None:
        return None
    return [[[token.value for token in value] for value in row] for row in shape.rows]


def test_describe_a_django_insert() -> None:
    shape = describe_insert(
        "INSERT INTO `app_book` (`title`, `author_id`) VALUES (%s, %s) RETURNING `app_book`.`id`"
    )
    assert shape is not None
    assert (shape.table, shape.columns, shape.set_columns) == (
        "app_book",
        ("title", "author_id"),
        None,
    )
    assert values_of(shape) == [[["%s"], ["%s"]]]
    assert shape.rows is not None and shape.rows[0][0][0].kind == PARAM
    assert (shape.returning, shape.on_duplicate) == (("id",), False)


def test_describe_a_bulk_insert() -> None:
    sql = "INSERT INTO `t` (`a`, `b`) VALUES " + ", ".join(["(%s, %s)"] * 1000)
    shape = describe_insert(sql)
    assert shape is not None
    assert shape.columns == ("a", "b")
    assert values_of(shape) == [[["%s"], ["%s"]]] * 1000
    assert shape.returning is None
    assert shape.rows is not None
    assert {
        sql[token.start : token.end] for row in shape.rows for value in row for token in value
    } == {"%s"}


def test_describe_rows_of_every_shape() -> None:
    sql = (
        "INSERT INTO t (a, b) VALUES (%s, %s), (1 + 2, -3), ('x,y)', %(p)s), "
        "(LAST_INSERT_ID(), %s), (NULL, `c`), (%s, %s)"
    )
    shape = describe_insert(sql)
    assert values_of(shape) == [
        [["%s"], ["%s"]],
        [["1", "+", "2"], ["-", "3"]],
        [["'x,y)'"], ["%(p)s"]],
        [["LAST_INSERT_ID", "(", ")"], ["%s"]],
        [["NULL"], ["c"]],
        [["%s"], ["%s"]],
    ]
    assert shape is not None and shape.rows is not None
    tokens = [token for row in shape.rows for value in row for token in value]
    assert [sql[token.start : token.end] for token in tokens][7:13] == [
        "'x,y)'",
        "%(p)s",
        "LAST_INSERT_ID",
        "(",
        ")",
        "%s",
    ]
    assert {token.kind for token in tokens} == {PARAM, NUMBER, OP, STRING, WORD, IDENT}


@pytest.mark.parametrize(
    ("sql", "table", "columns", "rows"),
    [
        (
            "INSERT INTO db.t VALUES (1, 'x', NULL), (DEFAULT, LAST_INSERT_ID(), 3 + f(4, 5))",
            "t",
            None,
            [
                [["1"], ["'x'"], ["NULL"]],
                [
                    ["DEFAULT"],
                    ["LAST_INSERT_ID", "(", ")"],
                    ["3", "+", "F", "(", "4", ",", "5", ")"],
                ],
            ],
        ),
        ("INSERT INTO t (a) SELECT a FROM u", "t", ("a",), None),
        ("INSERT INTO t (SELECT a FROM u)", "t", None, None),
        ("INSERT INTO t TABLE u", "t", None, None),
        ("REPLACE INTO t (a) VALUE (1)", "t", ("a",), [[["1"]]]),
        ("INSERT t (a) VALUES (1)", "t", ("a",), [[["1"]]]),
        ("INSERT LOW_PRIORITY IGNORE INTO t (a) VALUES (1)", "t", ("a",), [[["1"]]]),
        ("INSERT INTO t () VALUES ()", "t", (), [[]]),
        ("INSERT INTO t VALUES ROW(1, 2), ROW(3, 4)", "t", None, [[["1"], ["2"]], [["3"], ["4"]]]),
        (
            "INSERT INTO Mixed.CaseTable (Id, t.Name) VALUES (1, 2)",
            "CaseTable",
            ("Id", "Name"),
            [[["1"], ["2"]]],
        ),
        ("INSERT INTO t PARTITION (p0, p1) (a) VALUES (1)", "t", ("a",), [[["1"]]]),
        ("/* c */ INSERT /*+ hint */ INTO `t` (`a`) VALUES ('(,)')", "t", ("a",), [[["'(,)'"]]]),
        ("/*!40000 INSERT INTO `t` VALUES (1) */", "t", None, [[["1"]]]),
    ],
)
def test_describe_insert(
    sql: str, table: str, columns: tuple[str, ...] | None, rows: list[Any] | None
) -> None:
    shape = describe_insert(sql)
    assert shape is not None
    assert (shape.table, shape.columns) == (table, columns)
    assert values_of(shape) == rows


def test_describe_an_insert_set() -> None:
    shape = describe_insert("INSERT INTO t SET a = 1, `b` = %s ON DUPLICATE KEY UPDATE a = 2")
    assert shape is not None
    assert (shape.columns, shape.set_columns) == (None, ("a", "b"))
    assert values_of(shape) == [[["1"], ["%s"]]]
    assert shape.on_duplicate is True


@pytest.mark.parametrize(
    ("sql", "returning", "on_duplicate"),
    [
        ("INSERT INTO t SELECT * FROM u RETURNING *", ("*",), False),
        (
            "INSERT INTO t (a) VALUES (1) RETURNING id, t.a, a AS x, a + 1, t.*",
            ("id", "a", "x", "a + 1", "*"),
            False,
        ),
        ("INSERT INTO t (id, a) VALUES (1, 2) ON DUPLICATE KEY UPDATE a = VALUES(a)", None, True),
        ("INSERT INTO t (a) VALUES (1) AS new ON DUPLICATE KEY UPDATE a = new.a", None, True),
        ("INSERT INTO t (a) SELECT a FROM u ON DUPLICATE KEY UPDATE a = u.a", None, True),
        ("INSERT INTO t (`returning`) VALUES (1)", None, False),
    ],
)
def test_describe_returning_and_on_duplicate(
    sql: str, returning: tuple[str, ...] | None, on_duplicate: bool
) -> None:
    shape = describe_insert(sql)
    assert shape is not None
    assert (shape.returning, shape.on_duplicate) == (returning, on_duplicate)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "UPDATE t SET a = 1",
        "INSERT INTO t (a) VALUES (1); SELECT 1",
        "INSERT INTO t (a) VALUES ('abc",
        "",
        "-- INSERT INTO t VALUES (1)",
    ],
)
def test_describe_insert_of_other_texts(sql: str) -> None:
    assert describe_insert(sql) is None


def test_describe_insert_of_bytes() -> None:
    assert describe_insert(b"INSERT INTO t (a) VALUES (1)") == describe_insert(
        "INSERT INTO t (a) VALUES (1)"
    )
