"""sql/lexer.py: the tokens of a text, their kinds, values and positions in the text."""

from __future__ import annotations

import pytest

from django_pooled_mysql.sql import (
    IDENT,
    NUMBER,
    OP,
    PARAM,
    SEMICOLON,
    STRING,
    SYS_VAR,
    UNTERMINATED,
    USER_VAR,
    WORD,
    Token,
    lex,
)


def kinds_values(sql: str, **options: bool) -> list[tuple[str, str]]:
    return [(token.kind, token.value) for token in lex(sql, **options)]


@pytest.mark.parametrize(
    ("sql", "tokens"),
    [
        ("SELECT a FROM `t`", [(WORD, "SELECT"), (WORD, "A"), (WORD, "FROM"), (IDENT, "t")]),
        ("`a``b`", [(IDENT, "a`b")]),
        ("'x''y' \"q\\\"r\"", [(STRING, "'x''y'"), (STRING, '"q\\"r"')]),
        (
            "_utf8mb4'z' _latin1\"y\" N'n' X'4D' b'01' _binary 'x'",
            [
                (STRING, "_utf8mb4'z'"),
                (STRING, '_latin1"y"'),
                (STRING, "N'n'"),
                (STRING, "X'4D'"),
                (STRING, "b'01'"),
                (WORD, "_BINARY"),
                (STRING, "'x'"),
            ],
        ),
        (
            "0x1F 1.5e3 .5 42 1abc",
            [(NUMBER, "0x1F"), (NUMBER, "1.5e3"), (NUMBER, ".5"), (NUMBER, "42"), (WORD, "1ABC")],
        ),
        (
            "@v @'w x' @\"y\" @`z` @a.b$c",
            [
                (USER_VAR, "v"),
                (USER_VAR, "w x"),
                (USER_VAR, "y"),
                (USER_VAR, "z"),
                (USER_VAR, "a.b$c"),
            ],
        ),
        (
            "@@session.sql_mode @@Global.x @@local.y @@y @@keycache.size",
            [
                (SYS_VAR, "SESSION.SQL_MODE"),
                (SYS_VAR, "GLOBAL.X"),
                (SYS_VAR, "LOCAL.Y"),
                (SYS_VAR, "Y"),
                (SYS_VAR, "KEYCACHE.SIZE"),
            ],
        ),
        ("%s %(name)s %% %", [(PARAM, "%s"), (PARAM, "%(name)s"), (OP, "%%"), (OP, "%")]),
        ("@x := 1", [(USER_VAR, "x"), (OP, ":="), (NUMBER, "1")]),
        ("a <=> b ->> c", [(WORD, "A"), (OP, "<=>"), (WORD, "B"), (OP, "->>"), (WORD, "C")]),
        ("a;b", [(WORD, "A"), (SEMICOLON, ";"), (WORD, "B")]),
        (
            "1.e 1.5 1. 1.e5 .5e-3",
            [
                (NUMBER, "1"),
                (OP, "."),
                (WORD, "E"),
                (NUMBER, "1.5"),
                (NUMBER, "1"),
                (OP, "."),
                (NUMBER, "1.e5"),
                (NUMBER, ".5e-3"),
            ],
        ),
        (
            "SELECT 1 -- c\n+ 2 # d\n/* e */ /*+ f */",
            [(WORD, "SELECT"), (NUMBER, "1"), (OP, "+"), (NUMBER, "2")],
        ),
        ("1--2", [(NUMBER, "1"), (OP, "-"), (OP, "-"), (NUMBER, "2")]),
        (
            "/*!40101 SET x */ /*!SET y*/ /*M!100100 z */ /*M!w*/",
            [(WORD, "SET"), (WORD, "X"), (WORD, "SET"), (WORD, "Y"), (WORD, "Z"), (WORD, "W")],
        ),
        (
            "/*!40101 SET @x = '*/' */",
            [(WORD, "SET"), (USER_VAR, "x"), (OP, "="), (STRING, "'*/'")],
        ),
        ("2*/3", [(NUMBER, "2"), (OP, "*"), (OP, "/"), (NUMBER, "3")]),
        (
            "'u'@'h' `u`@`h` 'u'@localhost",
            [
                (STRING, "'u'"),
                (OP, "@"),
                (STRING, "'h'"),
                (IDENT, "u"),
                (OP, "@"),
                (IDENT, "h"),
                (STRING, "'u'"),
                (OP, "@"),
                (WORD, "LOCALHOST"),
            ],
        ),
        ("SELECT 'abc", [(WORD, "SELECT"), (UNTERMINATED, "'abc")]),
        ("SELECT 1 /* abc", [(WORD, "SELECT"), (NUMBER, "1"), (UNTERMINATED, "/* abc")]),
        (
            "/*!40101 SET NAMES x",
            [(WORD, "SET"), (WORD, "NAMES"), (WORD, "X"), (UNTERMINATED, "")],
        ),
        ("'a\\'b' 'c\\\\'", [(STRING, "'a\\'b'"), (STRING, "'c\\\\'")]),
        (
            "SELECT \u00e9t\u00e9, `\u6771`",
            [(WORD, "SELECT"), (WORD, "\u00c9T\u00c9"), (OP, ","), (IDENT, "\u6771")],
        ),
    ],
)
def test_lex(sql: str, tokens: list[tuple[str, str]]) -> None:
    assert kinds_values(sql) == tokens


def test_lex_without_backslash_escapes() -> None:
    sql = "'a\\' , 'b'"
    assert kinds_values(sql) == [(STRING, "'a\\' , '"), (WORD, "B"), (UNTERMINATED, "'")]
    assert kinds_values(sql, backslash_escapes=False) == [
        (STRING, "'a\\'"),
        (OP, ","),
        (STRING, "'b'"),
    ]


def test_token_positions_index_the_original_text() -> None:
    sql = (
        "/* c */ SELECT `a``b`, 'x''y', @`v`, @@session.y, %(p)s, \u00e9 "
        "/*!40101 , LAST_INSERT_ID() */ FROM t; SELECT 1"
    )
    tokens = lex(sql)
    assert [sql[t.start : t.end] for t in tokens] == [
        "SELECT",
        "`a``b`",
        ",",
        "'x''y'",
        ",",
        "@`v`",
        ",",
        "@@session.y",
        ",",
        "%(p)s",
        ",",
        "\u00e9",
        ",",
        "LAST_INSERT_ID",
        "(",
        ")",
        "FROM",
        "t",
        ";",
        "SELECT",
        "1",
    ]
    assert all(isinstance(token, Token) for token in tokens)


def test_a_token_is_a_small_immutable_record() -> None:
    token = lex("select")[0]
    assert token == Token(WORD, "SELECT", 0, 6)
    assert (token.kind, token.value, token.start, token.end) == ("WORD", "SELECT", 0, 6)
    with pytest.raises(AttributeError):
        token.value = "x"  # type: ignore[misc]
