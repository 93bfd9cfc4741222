"""The INSERT-shape parser: table, columns, rows and RETURNING of one INSERT/REPLACE.

The statement path (lease/previous.py) decides from a shape whether an INSERT generated the id
it reports. A parser of its own, not a rule: it reads values, which classification never needs.
It expands every token but a bulk insert's ``_ROWS`` lists, which ``_rows()`` reads with one
match per value (a 100 KB ``bulk_create()`` text takes milliseconds, benchmarks/lexer.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .lexer import _ESCAPES, _coarse, _expand, _Mode, _text
from .statements import _statement_ranges
from .tokens import (
    _ROWS,
    _RUN,
    IDENT,
    OP,
    PARAM,
    WORD,
    Token,
    _depth0_word,
    _is_op,
    _is_word,
    _items,
    _matching,
    _new_token,
    _opens,
    _word_at,
)
from .words import _INNER_STATEMENTS


@dataclass(frozen=True, slots=True)
class InsertShape:
    """The parts of one INSERT/REPLACE statement that decide whether it generates ids.

    ``rows`` holds, for ``VALUES``/``VALUE``, each row as a tuple of values, each value the tokens
    of its expression; for the ``SET a = 1, b = 2`` form, one row of the SET values (their names
    in ``set_columns``); None for ``INSERT ... SELECT``/``TABLE``. ``returning`` holds MariaDB's
    ``RETURNING`` items: a column's name unqualified, an alias, ``*``, or else the expression text.
    """

    table: str
    columns: tuple[str, ...] | None
    rows: tuple[tuple[tuple[Token, ...], ...], ...] | None
    set_columns: tuple[str, ...] | None
    returning: tuple[str, ...] | None
    on_duplicate: bool


def _name(sql: str, token: Token) -> str:
    """An identifier as written (unquoted; a WORD keeps its case)."""
    return token.value if token.kind == IDENT else sql[token.start : token.end]


def _last_name(sql: str, tokens: Sequence[Token], lo: int, hi: int) -> str | None:
    if hi > lo and tokens[hi - 1].kind in (WORD, IDENT):
        return _name(sql, tokens[hi - 1])
    return None


def describe_insert(sql: str | bytes | bytearray) -> InsertShape | None:
    """The shape of a one-statement INSERT/REPLACE text, or None for any other text."""
    text = _text(sql)
    coarse, complete = _coarse(text, _ESCAPES)
    if not complete:
        return None
    # Every token expanded but the _ROWS lists (a bulk insert's VALUES): read by _rows().
    tokens: list[Token] = []
    for token in coarse:
        if token.kind is _ROWS:
            tokens.append(token)
        else:
            tokens.extend(_expand(text, (token,), 0, 1, _ESCAPES))
    ranges = _statement_ranges(tokens)
    if len(ranges) != 1:
        return None
    lo, hi = ranges[0]
    if _word_at(tokens, lo, hi) not in ("INSERT", "REPLACE"):
        return None
    index = lo + 1
    while _word_at(tokens, index, hi) in ("LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE"):
        index += 1
    if _word_at(tokens, index, hi) == "INTO":
        index += 1
    if index >= hi or tokens[index].kind not in (WORD, IDENT):
        return None
    table = _name(text, tokens[index])
    index += 1
    while index + 1 < hi and _is_op(tokens[index], ".") and tokens[index + 1].kind in (WORD, IDENT):
        table = _name(text, tokens[index + 1])  # db.t: the table without its schema
        index += 2
    if _word_at(tokens, index, hi) == "PARTITION" and index + 1 < hi:
        index = _matching(tokens, index + 1, hi) + 1
    columns: tuple[str, ...] | None = None
    if index < hi and tokens[index].kind is _ROWS:
        names = _expand(text, tokens, index, index + 1, _ESCAPES)  # (`a`, `b`)
        columns = tuple(
            _last_name(text, names, a, b) or "" for a, b in _items(names, 1, len(names) - 1)
        )
        index += 1
    elif index < hi and _is_op(tokens[index], "("):
        following = tokens[index + 1] if index + 1 < hi else None
        query = following is not None and (
            _opens(following) or (following.kind == WORD and following.value in _INNER_STATEMENTS)
        )
        if not query:
            close = _matching(tokens, index, hi)
            names = tokens[index + 1 : close]
            columns = tuple(
                _last_name(text, names, a, b) or "" for a, b in _items(names, 0, len(names))
            )
            index = close + 1
    rows: list[tuple[tuple[Token, ...], ...]] | None = None
    set_columns: tuple[str, ...] | None = None
    keyword = _word_at(tokens, index, hi)
    if keyword in ("VALUES", "VALUE"):
        index += 1
        rows = []
        while index < hi:
            if _word_at(tokens, index, hi) == "ROW":
                index += 1
            if index < hi and tokens[index].kind is _ROWS:
                rows.extend(_rows(text, tokens[index], _ESCAPES))
                close = index
            elif index < hi and _is_op(tokens[index], "("):
                close = _matching(tokens, index, hi)
                rows.append(
                    tuple(
                        tuple(_expand(text, tokens, a, b, _ESCAPES))
                        for a, b in _items(tokens, index + 1, close)
                    )
                )
            else:
                break
            index = close + 1
            if index < hi and _is_op(tokens[index], ","):
                index += 1
            else:
                break
    elif keyword == "SET":
        index += 1
        end = _depth0_word(tokens, index, hi, ("ON", "RETURNING"))
        assigned: list[str] = []
        values: list[tuple[Token, ...]] = []
        for a, b in _items(tokens, index, end):
            equals = next((p for p in range(a, b) if _is_op(tokens[p], "=")), b)
            assigned.append(_last_name(text, tokens, a, equals) or "")
            values.append(tuple(_expand(text, tokens, equals + 1, b, _ESCAPES)))
        set_columns = tuple(assigned)
        rows = [tuple(values)]
        index = end
    on_duplicate = False
    returning: tuple[str, ...] | None = None
    depth = 0
    for position in range(index, hi):
        token = tokens[position]
        if token.kind == OP:
            depth += (token.value == "(") - (token.value == ")")
        elif depth == 0 and token.kind == WORD:
            if token.value == "ON" and _word_at(tokens, position + 1, hi) == "DUPLICATE":
                on_duplicate = True
            elif token.value == "RETURNING":
                returning = tuple(
                    _returned(text, tokens, a, b) for a, b in _items(tokens, position + 1, hi)
                )
    return InsertShape(
        table=table,
        columns=columns,
        rows=None if rows is None else tuple(rows),
        set_columns=set_columns,
        returning=returning,
        on_duplicate=on_duplicate,
    )


def _rows(sql: str, token: Token, mode: _Mode) -> list[tuple[tuple[Token, ...], ...]]:
    """The rows of a _ROWS token, ``(%s, %s), (%s, %s)``: one match per value."""
    rows: list[tuple[tuple[Token, ...], ...]] = []
    row: list[tuple[Token, ...]] = []
    text, offset = token.value, token.start
    for match in mode.row_values.finditer(text):
        start, end = match.span(1)
        value = text[start:end]
        if value == "%s":  # the usual one, without a second regular expression
            row.append((_new_token(Token, (PARAM, value, start + offset, end + offset)),))
        else:
            run = _new_token(Token, (_RUN, value, start + offset, end + offset))
            row.append(tuple(_expand(sql, (run,), 0, 1, mode)))
        if match.lastindex == 2:  # the ")" that ends the row
            rows.append(tuple(row))
            row = []
    return rows


def _returned(sql: str, tokens: Sequence[Token], lo: int, hi: int) -> str:
    """The name of one RETURNING item: column (unqualified), alias, "*", or the expression."""
    last = tokens[hi - 1]
    if _is_op(last, "*"):
        return "*"
    if last.kind in (WORD, IDENT):
        if hi - lo == 1:
            return _name(sql, last)
        previous = tokens[hi - 2]
        if _is_op(previous, ".") or _is_word(previous, "AS"):
            return _name(sql, last)
    return sql[tokens[lo].start : last.end]
