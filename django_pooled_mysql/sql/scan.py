"""The expression scan: the rules that hold anywhere in an executed statement.

Calls (``GET_LOCK(``, ``LAST_INSERT_ID(``, stored functions), user and system variables and the
marker words (``SQL_CALC_FOUND_ROWS``, ``INTO @x``, ``NEXT``/``PREVIOUS VALUE FOR``) count wherever
they appear, so the statement rules (rules.py, dispatch.py) hand the parts of a statement that run
to ``_scan()``: they only decide which parts. ``_Findings`` is what all of them fill in, and what
verdicts.py turns into a ``Verdict``. The scan steps over the lexer's collapsed runs without
reading into them: they are most of a statement, and hold nothing a rule looks for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .lexer import _Mode, _unquote
from .tokens import (
    _ROWS,
    _RUN,
    IDENT,
    OP,
    STRING,
    SYS_VAR,
    USER_VAR,
    WORD,
    Token,
    _after_dot,
    _is_op,
    _is_word,
    _matching,
    _opens,
    _word_at,
)
from .words import (
    _BUILTIN_FUNCTIONS,
    _IDENTITY_VARIABLES,
    _MARKER_WORDS,
    _NAME_FOLLOWS,
    _PREVIOUS_STATE_CALLS,
    _PREVIOUS_STATE_VARIABLES,
    _STATEFUL_CALLS,
    _SYNTAX_BEFORE_PAREN,
)


class _Findings:
    """What the statements of one text were found to do, filled in by the rules."""

    __slots__ = (
        "hidden_effects",
        "inserts",
        "leaves",
        "local_names",
        "mode",
        "reads",
        "replays",
        "spans",
        "spans_wanted",
        "sql",
        "tracked",
        "user_reads",
    )

    def __init__(self, sql: str, mode: _Mode) -> None:
        self.sql = sql
        self.mode = mode
        self.leaves: str | None = None
        self.reads: set[str] = set()
        self.user_reads = False
        self.hidden_effects = False
        self.inserts = False
        self.spans: list[tuple[int, int, str]] = []
        self.spans_wanted = True  # only for the first statement
        self.local_names: frozenset[str] = frozenset()  # DECLAREd in the compound body
        # The keys of a replayable SET that is the text's first statement (assignments.py).
        self.replays: tuple[str, ...] | None = None
        # The same for a SET of session variables to expressions (assignments.tracked_keys()).
        self.tracked: tuple[str, ...] | None = None

    def leave(self, kind: str) -> None:
        if self.leaves is None:
            self.leaves = kind

    def read(self, name: str, start: int = -1, end: int = -1) -> None:
        self.reads.add(name)
        if start >= 0 and self.spans_wanted:
            self.spans.append((start, end, name))


# A statement's rule: it classifies tokens[lo:hi] into the findings.
_Rule = Callable[[Sequence[Token], int, int, _Findings], None]


def _is_comma(token: Token) -> bool:
    return (token.kind == OP or token.kind == _RUN) and token.value == ","


def _scan(
    tokens: Sequence[Token], lo: int, hi: int, found: _Findings, stored_calls: bool = True
) -> None:
    """Apply the rules that hold anywhere in an executed statement: calls, variables, markers.

    stored_calls=False for DDL, whose "name (" are definitions (KEY k (a)), never stored code.
    """
    index = lo
    while index < hi:
        token = tokens[index]
        kind = token.kind
        index += 1
        if kind is _RUN or kind is OP or kind is _ROWS:
            continue  # the inert majority
        if kind is WORD and token.value in _MARKER_WORDS:
            if not _after_dot(tokens, index - 1, lo):
                index = _marker(tokens, index - 1, hi, found)  # SQL_CALC_FOUND_ROWS (a) too
        elif kind is WORD or kind is IDENT or (kind is STRING and token.value[0] == '"'):
            if index < hi and _opens(tokens[index]):
                _call(tokens, index - 1, lo, hi, found, stored_calls)
        elif kind is USER_VAR:
            if index < hi and _is_op(tokens[index], ":="):
                found.leave("user variable assignment")
            else:
                found.user_reads = True
        elif kind is SYS_VAR:
            name = _PREVIOUS_STATE_VARIABLES.get(token.value)
            if name is not None:
                found.read(name, token.start, token.end)
            elif token.value in _IDENTITY_VARIABLES:
                found.leave(_IDENTITY_VARIABLES[token.value])


def _marker(tokens: Sequence[Token], index: int, hi: int, found: _Findings) -> int:
    """Apply the rule of the marker word at index; the index to scan on from."""
    value = tokens[index].value
    if value == "SQL_CALC_FOUND_ROWS":
        found.leave("SQL_CALC_FOUND_ROWS")
    elif value == "INTO":
        # SELECT ... INTO @a, @b: assignments, not reads.
        index += 1
        while index < hi and tokens[index].kind == USER_VAR:
            found.leave("user variable assignment")
            index += 1
            if index < hi and _is_comma(tokens[index]):
                index += 1
            else:
                break
        return index
    elif _word_at(tokens, index + 1, hi) == "VALUE" and _word_at(tokens, index + 2, hi) == "FOR":
        if value == "NEXT":
            found.leave("NEXT VALUE FOR")
        else:
            found.read("LASTVAL()")
        return index + 3
    return index + 1


def _call(
    tokens: Sequence[Token], index: int, lo: int, hi: int, found: _Findings, stored_calls: bool
) -> None:
    """Apply the rules of the call ``name(`` at index."""
    token = tokens[index]
    if token.kind is WORD:
        name = token.value
    elif token.kind is IDENT:
        name = token.value.upper()
    else:  # "name"(...): a call under sql_mode ANSI_QUOTES
        name = _unquote(token.value).upper()
    if _after_dot(tokens, index, lo):
        if stored_calls:
            found.hidden_effects = True  # db.f(): a stored function
        return
    if index > lo:
        previous = tokens[index - 1]
        if previous.kind == WORD and previous.value in _NAME_FOLLOWS:
            return  # INSERT INTO t (a), CREATE TABLE get_lock (...)
    stateful = _STATEFUL_CALLS.get(name)
    if stateful is not None:
        found.leave(stateful)
        return
    if name == "LASTVAL":
        found.read("LASTVAL()")
        return
    reader = _PREVIOUS_STATE_CALLS.get(name)
    if reader is not None:
        following = tokens[index + 1]
        empty = index + 2 < hi and _is_op(following, "(") and _is_op(tokens[index + 2], ")")
        if empty:
            found.read(reader, token.start, tokens[index + 2].end)
        elif name == "LAST_INSERT_ID":
            found.leave("LAST_INSERT_ID(expr)")
            found.inserts = True
        else:
            found.read(reader)
        return
    if not stored_calls:
        return
    if (token.kind == WORD and name in _SYNTAX_BEFORE_PAREN) or name in _BUILTIN_FUNCTIONS:
        return
    close = _matching(tokens, index + 1, hi)
    if close + 2 < hi and _is_word(tokens[close + 1], "AS") and _opens(tokens[close + 2]):
        return  # WITH a (x) AS (...), b (y) AS (...): a CTE's column list
    found.hidden_effects = True
