"""Tokens: their kinds, the record, and the index helpers that every reader of tokens shares.

The splitter, the rules and the INSERT parser read a list of tokens by index ranges (``lo``,
``hi``) rather than by slices, so these helpers take the list and indexes. Kinds are plain strings
that the hot loops compare by identity (``kind is WORD``): every token takes its kind from the
constants below, never from a string built elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

# Token kinds.
WORD = "WORD"
IDENT = "IDENT"
STRING = "STRING"
NUMBER = "NUMBER"
USER_VAR = "USER_VAR"
SYS_VAR = "SYS_VAR"
PARAM = "PARAM"
OP = "OP"
SEMICOLON = "SEMICOLON"
UNTERMINATED = "UNTERMINATED"
# Internal to classification: a run of tokens no rule looks into, and a parenthesised list of
# such runs (``(%s, %s), (%s, %s)``). lex() never returns them.
_RUN = "_RUN"
_ROWS = "_ROWS"


class Token(NamedTuple):
    """One token: its kind, its value (lexer.py's docstring) and its span in the text."""

    kind: str
    value: str
    start: int
    end: int


_new_token = tuple.__new__  # Token(...) without namedtuple's Python-level __new__ (hot loop)


def _is_word(token: Token, value: str) -> bool:
    return token.kind == WORD and token.value == value


def _is_op(token: Token, value: str) -> bool:
    return token.kind == OP and token.value == value


def _opens(token: Token) -> bool:
    """Whether token starts with "(" (a _ROWS token is a whole parenthesised list)."""
    return token.kind == _ROWS or (token.kind == OP and token.value == "(")


def _after_dot(tokens: Sequence[Token], index: int, lo: int) -> bool:
    """Whether tokens[index] is the second part of a qualified name (``t.end``, ``db.f``)."""
    if index <= lo:
        return False
    previous = tokens[index - 1]
    return (previous.kind == OP or previous.kind == _RUN) and previous.value.endswith(".")


def _word_at(tokens: Sequence[Token], index: int, hi: int) -> str | None:
    if index < hi and tokens[index].kind == WORD:
        return tokens[index].value
    return None


def _matching(tokens: Sequence[Token], index: int, hi: int) -> int:
    """Index of the token that closes the "(" at index (a _ROWS token closes itself)."""
    if tokens[index].kind == _ROWS:
        return index
    depth = 0
    for position in range(index, hi):
        token = tokens[position]
        if token.kind == OP:
            if token.value == "(":
                depth += 1
            elif token.value == ")":
                depth -= 1
                if depth == 0:
                    return position
    return hi - 1


def _items(tokens: Sequence[Token], lo: int, hi: int) -> Iterator[tuple[int, int]]:
    """(start, end) of the comma-separated items of tokens[lo:hi] (expanded tokens)."""
    depth = 0
    start = lo
    for index in range(lo, hi):
        token = tokens[index]
        if token.kind == OP:
            if token.value == "(":
                depth += 1
            elif token.value == ")":
                depth -= 1
            elif token.value == "," and depth == 0:
                yield start, index
                start = index + 1
    if start < hi:
        yield start, hi


def _depth0_word(tokens: Sequence[Token], index: int, hi: int, words: tuple[str, ...]) -> int:
    """Index of the first of words outside parentheses, from index on (or hi)."""
    depth = 0
    while index < hi:
        token = tokens[index]
        if token.kind == OP:
            depth += (token.value == "(") - (token.value == ")")
        elif depth == 0 and token.kind == WORD and token.value in words:
            return index
        index += 1
    return hi
