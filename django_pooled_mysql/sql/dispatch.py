"""Which rule reads a statement, and the rules of statements that hold statements.

``_statement()`` looks a statement's first word up in ``_RULES``. ``SET`` (whose ``SET STATEMENT
... FOR`` runs an inner statement), ``EXPLAIN ANALYZE``/``ANALYZE <statement>``, ``BEGIN NOT
ATOMIC ... END`` and the other compound statements hand statements back to ``_statement()``:
they live here, beside the table, so that imports stay one-way (rules.py, the simple statements,
needs nothing of this module). Inside a compound body every statement and condition is
classified; ``reader_spans`` are not reported from a body (its readers may read its own earlier
statements), and ``SET x`` of a ``DECLARE``d name is local.
"""

from __future__ import annotations

from collections.abc import Sequence

from .assignments import replayable, tracked_keys
from .lexer import _expand
from .rules import (
    _alter,
    _backup,
    _create,
    _ddl,
    _declare,
    _drop,
    _end_transaction,
    _execute,
    _expression_statement,
    _flush,
    _get,
    _leaves,
    _load,
    _lock,
    _no_state,
    _show,
    _start,
    _with,
    _write,
)
from .scan import _Findings, _Rule, _scan
from .statements import _BLOCK_ENDS
from .tokens import (
    IDENT,
    OP,
    SEMICOLON,
    SYS_VAR,
    USER_VAR,
    WORD,
    Token,
    _is_op,
    _is_word,
    _items,
    _word_at,
)
from .words import _INNER_STATEMENTS


def _statement(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """Classify the statement tokens[lo:hi] into found."""
    while lo < hi and _is_op(tokens[lo], "("):
        lo += 1  # (SELECT ...) UNION (SELECT ...)
    if lo >= hi:
        return
    head = tokens[lo]
    if head.kind == WORD:
        rule = _RULES.get(head.value)
        if rule is not None:
            rule(tokens, lo, hi, found)
            return
    if head.kind in (WORD, IDENT) and lo + 1 < hi and _is_op(tokens[lo + 1], ":"):
        _compound(tokens, lo, hi, found)
        return
    _scan(tokens, lo, hi, found)


def _set(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """SET: pins unless every item is global (or it is SET PASSWORD / DEFAULT ROLE / STATEMENT);
    a text's first statement that sets session variables to literals is replayable instead
    (assignments.py; verdicts.py keeps it only when the text holds that statement alone)."""
    first_statement = lo == 0
    tokens = _expand(found.sql, tokens, lo, hi, found.mode)
    lo, hi = 1, len(tokens)
    first = _word_at(tokens, lo, hi)
    if first == "STATEMENT":
        end = lo + 1
        while end < hi and not _is_word(tokens[end], "FOR"):
            end += 1
        _scan(tokens, lo + 1, end, found)
        _statement(tokens, end + 1, hi, found)
        return
    if first == "PASSWORD" or (first == "DEFAULT" and _word_at(tokens, lo + 1, hi) == "ROLE"):
        _scan(tokens, lo + 1, hi, found)
        return
    sticky_global = False  # SET GLOBAL a = 1, b = 2: b is global too
    session = False
    values: list[tuple[int, int]] = []
    for start, end in _items(tokens, lo, hi):
        index = start
        scope = _word_at(tokens, index, end)
        if scope in ("GLOBAL", "PERSIST", "PERSIST_ONLY"):
            sticky_global = True
            index += 1
        elif scope in ("SESSION", "LOCAL"):
            sticky_global = False
            index += 1
        if index >= end:
            session = True
            continue
        target = tokens[index]
        if target.kind == USER_VAR:
            session = True
        elif target.kind == SYS_VAR:
            scope, dot, _ = target.value.partition(".")
            if not (dot and scope in ("GLOBAL", "PERSIST", "PERSIST_ONLY")):
                session = True  # @@x, @@session.x, @@local.x
        elif target.kind in (WORD, IDENT):
            name = target.value.upper()
            if name in found.local_names and target.kind == WORD:
                pass  # a local variable of the compound statement
            elif name in ("NAMES", "CHARSET", "CHARACTER", "ROLE") or not sticky_global:
                session = True
        else:
            session = True
        for position in range(index + 1, end):
            token = tokens[position]
            if token.kind == OP and token.value in ("=", ":="):
                values.append((position + 1, end))
                break
    if session:
        found.leave("SET")
        if first_statement:
            found.replays = replayable(tokens, found.sql)
            if found.replays is None:
                found.tracked = tracked_keys(tokens, found.sql)
                if found.tracked is not None:
                    # Values of any expression, but with no effect of their own.
                    alone = _Findings(found.sql, found.mode)
                    for start, end in values:
                        _scan(tokens, start, end, alone)
                    if alone.leaves is not None or alone.hidden_effects or alone.inserts:
                        found.tracked = None
    for start, end in values:
        _scan(tokens, start, end, found)


def _begin(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """BEGIN [WORK] starts a transaction; BEGIN NOT ATOMIC ... END runs its body."""
    if _word_at(tokens, lo + 1, hi) == "NOT":
        _compound(tokens, lo, hi, found)
    else:
        found.leave("BEGIN")


def _inner(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """Classify the statement that EXPLAIN ANALYZE / ANALYZE run, after their options."""
    for index in range(lo, hi):
        token = tokens[index]
        if (token.kind == WORD and token.value in _INNER_STATEMENTS) or _is_op(token, "("):
            _statement(tokens, index, hi, found)
            return


def _explain(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """EXPLAIN/DESCRIBE: not executed, except MySQL's EXPLAIN ANALYZE [FORMAT = x] <statement>."""
    if _word_at(tokens, lo + 1, hi) == "ANALYZE":
        _inner(tokens, lo + 2, hi, found)


def _analyze(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """MariaDB ANALYZE <statement> executes it; ANALYZE TABLE is maintenance."""
    if _word_at(tokens, lo + 1, hi) not in ("TABLE", "TABLES", "NO_WRITE_TO_BINLOG", "LOCAL"):
        _inner(tokens, lo + 1, hi, found)


def _compound(tokens: Sequence[Token], lo: int, hi: int, found: _Findings) -> None:
    """A compound statement that runs its body: classify every statement and condition in it."""
    body = _expand(found.sql, tokens, lo, hi, found.mode)
    spans_wanted, local_names = found.spans_wanted, found.local_names
    found.spans_wanted = False  # a body's readers may read its own earlier statements
    _body(body, found)
    found.spans_wanted, found.local_names = spans_wanted, local_names


def _condition_end(tokens: Sequence[Token], index: int, hi: int, stop: str) -> int:
    """Index of the word stop that ends the condition at index (outside CASE ... END)."""
    cases = 0
    depth = 0
    while index < hi:
        token = tokens[index]
        if token.kind == OP:
            depth += (token.value == "(") - (token.value == ")")
        elif token.kind == WORD and depth == 0:
            if token.value == "CASE":
                cases += 1
            elif token.value == "END" and cases:
                cases -= 1
            elif token.value == stop and not cases:
                return index
        index += 1
    return hi


_CONDITION_ENDS = {"IF": "THEN", "ELSEIF": "THEN", "WHEN": "THEN", "WHILE": "DO", "UNTIL": "END"}


def _body(tokens: list[Token], found: _Findings) -> None:
    """Walk a compound statement (expanded tokens): its conditions and simple statements."""
    hi = len(tokens)
    index = 0
    while index < hi:
        token = tokens[index]
        kind = token.kind
        if kind == SEMICOLON:
            index += 1
            continue
        if kind in (WORD, IDENT) and index + 1 < hi and _is_op(tokens[index + 1], ":"):
            index += 2  # label
            continue
        value = token.value if kind == WORD else ""
        if value == "BEGIN":
            index += 3 if _word_at(tokens, index + 1, hi) == "NOT" else 1
            continue
        if value == "END":
            index += 1
            if _word_at(tokens, index, hi) in _BLOCK_ENDS:
                index += 1
            if index < hi and tokens[index].kind in (WORD, IDENT):
                index += 1  # END label
            continue
        stop = _CONDITION_ENDS.get(value)
        if stop is not None:
            end = _condition_end(tokens, index + 1, hi, stop)
            _scan(tokens, index + 1, end, found)
            index = end if stop == "END" else end + 1
            continue
        if value == "CASE":
            end = _condition_end(tokens, index + 1, hi, "WHEN")
            _scan(tokens, index + 1, end, found)
            index = end
            continue
        if value in ("ELSE", "LOOP", "REPEAT"):
            index += 1
            continue
        if value == "DECLARE":
            handler = _handler_statement(tokens, index, hi)
            if handler is not None:
                index = handler
                continue
            position = index + 1
            while position < hi and tokens[position].kind in (WORD, IDENT):
                found.local_names |= {tokens[position].value.upper()}
                if position + 1 < hi and _is_op(tokens[position + 1], ","):
                    position += 2
                else:
                    break
        end = index
        while end < hi and tokens[end].kind != SEMICOLON:
            end += 1
        _statement(tokens, index, end, found)
        index = end + 1


def _handler_statement(tokens: Sequence[Token], index: int, hi: int) -> int | None:
    """Where the statement of ``DECLARE ... HANDLER FOR conditions <statement>`` starts."""
    if _word_at(tokens, index + 2, hi) != "HANDLER" or _word_at(tokens, index + 3, hi) != "FOR":
        return None
    index += 4
    while index < hi:
        value = _word_at(tokens, index, hi)
        if value == "SQLSTATE":
            index += 3 if _word_at(tokens, index + 1, hi) == "VALUE" else 2
        elif value == "NOT":
            index += 2  # NOT FOUND
        else:
            index += 1  # SQLEXCEPTION, SQLWARNING, an error number, a condition name
        if index < hi and _is_op(tokens[index], ","):
            index += 1
        else:
            return index
    return hi


_RULES: dict[str, _Rule] = {
    "SELECT": _expression_statement,
    "INSERT": _write,
    "REPLACE": _write,
    "UPDATE": _write,
    "DELETE": _write,
    "WITH": _with,
    "LOAD": _load,
    "SET": _set,
    "LOCK": _lock,
    "UNLOCK": _no_state,
    "FLUSH": _flush,
    "BACKUP": _backup,
    "CREATE": _create,
    "ALTER": _alter,
    "DROP": _drop,
    "RENAME": _ddl,
    "TRUNCATE": _ddl,
    "GRANT": _ddl,
    "REVOKE": _ddl,
    "OPTIMIZE": _ddl,
    "REPAIR": _ddl,
    "CHECK": _ddl,
    "CHECKSUM": _ddl,
    "PREPARE": _leaves("PREPARE"),
    "EXECUTE": _execute,
    "DEALLOCATE": _leaves("DEALLOCATE PREPARE"),
    "USE": _leaves("USE"),
    "HANDLER": _leaves("HANDLER"),
    "XA": _leaves("XA"),
    "CALL": _leaves("CALL", hidden=True),
    "BEGIN": _begin,
    "START": _start,
    "COMMIT": _end_transaction,
    "ROLLBACK": _end_transaction,
    "SHOW": _show,
    "GET": _get,
    "EXPLAIN": _explain,
    "DESCRIBE": _explain,
    "DESC": _explain,
    "ANALYZE": _analyze,
    "DECLARE": _declare,
    "IF": _compound,
    "CASE": _compound,
    "WHILE": _compound,
    "LOOP": _compound,
    "REPEAT": _compound,
}
