"""Any text: no exception, positions that index the text, and the same verdict from the
collapsed and the full tokens, on random mixes of the fragments the rules look at."""

from __future__ import annotations

from django_pooled_mysql.sql import WORD, describe_insert, lex, lexer, verdicts

FRAGMENTS = [
    "SELECT",
    "SET",
    "@x",
    "@'y'",
    "@@session.z",
    "@@identity",
    ":=",
    "=",
    ",",
    ";",
    "(",
    ")",
    "`a`",
    "`b``c`",
    "'s'",
    "'it''s'",
    "'\\''",
    '"d"',
    "%s",
    "%(n)s",
    "%%",
    "1",
    "0x1F",
    ".",
    "GET_LOCK",
    "LAST_INSERT_ID",
    "ROW_COUNT",
    "f",
    "db",
    "INTO",
    "BEGIN",
    "NOT",
    "ATOMIC",
    "END",
    "IF",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "LOOP",
    "WHILE",
    "DO",
    "REPEAT",
    "UNTIL",
    "CREATE",
    "PROCEDURE",
    "TEMPORARY",
    "TABLE",
    "LOCK",
    "TABLES",
    "INSERT",
    "VALUES",
    "EXPLAIN",
    "ANALYZE",
    "SHOW",
    "WARNINGS",
    "NEXT",
    "VALUE",
    "FOR",
    "SQL_CALC_FOUND_ROWS",
    "/* c */",
    "-- c\n",
    "# c\n",
    "/*!40101",
    "/*M!100100",
    "*/",
    "/*+ h */",
    "lbl",
    ":",
    "'u'@'h'",
    "\\",
    "*",
    "-",
    "STATEMENT",
    "GLOBAL",
    "SESSION",
    "NAMES",
    "DECLARE",
    "HANDLER",
    "EACH",
    "ROW",
    "\u00e9",
]


def random_texts(count: int) -> list[str]:
    import random

    rng = random.Random(20261123)
    texts = []
    for _ in range(count):
        words = rng.choices(FRAGMENTS, k=rng.randint(1, 24))
        texts.append(" ".join(words) if rng.random() < 0.8 else "".join(words))
    return texts


def test_random_texts() -> None:
    mode = lexer._ESCAPES
    for sql in random_texts(3000):
        verdict = verdicts._classify(sql)
        # A statement ends at a ";" or at the end of the text (in either reading).
        assert 0 <= verdict.statements <= sql.count(";") + 1, sql
        tokens = lex(sql)
        for token in tokens:
            assert 0 <= token.start < token.end <= len(sql) or (
                token.start == token.end == len(sql)
            )
            if token.kind == WORD:
                assert sql[token.start : token.end].upper() == token.value
        assert [t.start for t in tokens] == sorted(t.start for t in tokens)
        coarse, complete = lexer._coarse(sql, mode)
        full = lexer._expand(sql, coarse, 0, len(coarse), mode)
        assert full == tokens
        assert verdicts._verdict(sql, full, complete, mode, True) == verdicts._verdict(
            sql, coarse, complete, mode, True
        ), sql
        for start, end, name in verdict.reader_spans:
            written = "".join(t.value for t in tokens if start <= t.start < end)
            assert written.lstrip("@").startswith(name.lstrip("@").rstrip("()")), (sql, name)
        describe_insert(sql)
