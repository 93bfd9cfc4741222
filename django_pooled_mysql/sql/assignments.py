"""Session variable assignments that can be replayed on another session instead of pinning one.

A ``SET`` of session system variables to literal values (``SET time_zone = '+03:00'``, ``SET
SESSION sql_mode = 'ANSI'``, ``SET @@foreign_key_checks = 0``, ``SET NAMES latin1``) leaves
nothing on the session that the same ``SET`` cannot give another session. So the lease layer
(lease/variables.py) keeps the values per Django connection and brings each leased session to
them, as MySQL Router's connection sharing and ProxySQL's multiplexing do, instead of pinning.

What is replayable, statement by statement, is decided here on tokens; what is not pins as any
``SET`` did before:
- one ``SET`` statement alone in its text (a text of several statements pins);
- every item a session system variable (``x``, ``SESSION x``, ``LOCAL x``, ``@@x``,
  ``@@session.x``, ``@@local.x``), ``NAMES ...`` or ``CHARACTER SET ...``/``CHARSET ...``; global
  items (``GLOBAL x``, ``@@global.x``) are allowed beside them and not replayed; a user variable,
  ``ROLE``, ``TRANSACTION ...`` (next transaction only) or a variable in ``_NOT_REPLAYED`` pins;
- every value a literal: a string (with or without a character set introducer), a number with
  an optional sign, a single word (``ON``, ``DEFAULT``, ``SYSTEM``), or a parameter ``%s`` /
  ``%(name)s`` (``replayable()`` on the statement as written; ``assignments()`` then reads the
  text the driver sent, with the parameter's literal in place). An expression (``@x``,
  ``CONCAT(@@sql_mode, ...)``, ``@@global.x``) pins.

The character set variables (``character_set_client``, ``_connection``, ``_results``,
``collation_connection``) change together (``SET NAMES`` sets all four, setting a character set
sets its collation), so they are one key, ``CHARSET``, whose item is every such assignment in
order, started afresh by ``NAMES`` or ``CHARACTER SET``.
"""

from __future__ import annotations

from collections.abc import Sequence

from .lexer import lex
from .tokens import (
    IDENT,
    NUMBER,
    OP,
    PARAM,
    SEMICOLON,
    STRING,
    SYS_VAR,
    USER_VAR,
    WORD,
    Token,
    _items,
    _word_at,
)

# One replayable assignment: (key, item). The key is the variable's name in lower case (or
# CHARSET); the item is what follows SET to make it again: "@@SESSION.time_zone = '+03:00'".
Assignment = tuple[str, str]

CHARSET = "character set"
_CHARSET_VARIABLES = frozenset(
    {
        "CHARACTER_SET_CLIENT",
        "CHARACTER_SET_CONNECTION",
        "CHARACTER_SET_RESULTS",
        "COLLATION_CONNECTION",
    }
)
# The character set variables' values before any SET, read together (lease/variables.py).
CHARSET_VARIABLES = (
    "character_set_client",
    "character_set_results",
    "character_set_connection",
    "collation_connection",
)

# Session variables whose value is not only a setting, so replaying them on another session is
# not the same as having set them on one: the next statement's insert id and timestamp-like
# one-shot values, the random seed, the session's identity, the transaction state, the trackers
# this backend itself relies on (lease/connection.py), replication positions.
_NOT_REPLAYED = frozenset(
    {
        "AUTOCOMMIT",
        "INSERT_ID",
        "LAST_INSERT_ID",
        "IDENTITY",
        "RAND_SEED1",
        "RAND_SEED2",
        "PSEUDO_THREAD_ID",
        "PSEUDO_SLAVE_MODE",
        "PROFILING",
        "IN_TRANSACTION",
        "WARNING_COUNT",
        "ERROR_COUNT",
    }
)
_NOT_REPLAYED_PREFIXES = ("SESSION_TRACK_", "GTID_")
_GLOBAL_SCOPES = ("GLOBAL", "PERSIST", "PERSIST_ONLY")


def replayable(tokens: Sequence[Token], sql: str) -> tuple[str, ...] | None:
    """The keys a text's SET statement (expanded tokens from the SET on) assigns, if it can be
    replayed with parameters still in place; None if it must pin."""
    found = _read(tokens, sql, parameters=True)
    return tuple(key for key, _ in found) if found else None


def tracked_keys(tokens: Sequence[Token], sql: str) -> tuple[str, ...] | None:
    """The variables a SET statement assigns to values of any expression, if every item is a
    session system variable other than the character set ones (whose values the server's
    tracker reports after the statement: lease/connection.py); None otherwise. The caller
    checks that the values have no effect of their own."""
    found = _read(tokens, sql, parameters=True, any_value=True)
    if not found or any(key == CHARSET for key, _ in found):
        return None
    return tuple(key for key, _ in found)


def assignments(sql: str) -> tuple[Assignment, ...] | None:
    """The replayable assignments of a text the driver sent (parameters in place), in order;
    None if it is not a replayable SET alone in its text."""
    tokens = lex(sql)
    while tokens and tokens[-1].kind == SEMICOLON:
        tokens.pop()
    if any(token.kind == SEMICOLON for token in tokens):
        return None
    if not tokens or _word_at(tokens, 0, len(tokens)) != "SET":
        return None
    found = _read(tokens, sql, parameters=False)
    return tuple(found) if found else None


def _read(
    tokens: Sequence[Token], sql: str, parameters: bool, any_value: bool = False
) -> list[Assignment] | None:
    """tokens[0] is SET; the assignments of its items, or None if one of them must pin."""
    hi = len(tokens)
    found: list[Assignment] = []
    sticky_global = False  # SET GLOBAL a = 1, b = 2: b is global too
    for start, end in _items(tokens, 1, hi):
        index = start
        scope = _word_at(tokens, index, end)
        if scope in _GLOBAL_SCOPES:
            sticky_global = True
            index += 1
        elif scope in ("SESSION", "LOCAL"):
            sticky_global = False
            index += 1
        if index >= end:
            return None
        target = tokens[index]
        if target.kind == WORD and target.value in ("NAMES", "CHARSET", "CHARACTER"):
            value_from = index + 1
            if target.value == "CHARACTER":
                if _word_at(tokens, value_from, end) != "SET":
                    return None
                value_from += 1
            if value_from >= end or any(
                tokens[position].kind not in (WORD, STRING, IDENT)
                for position in range(value_from, end)
            ):
                return None
            found.append((CHARSET, sql[target.start : tokens[end - 1].end]))
            continue
        if target.kind == USER_VAR:
            return None
        if target.kind == SYS_VAR:
            prefix, dot, name = target.value.partition(".")
            if not dot:
                name, prefix = prefix, ""
            if prefix in _GLOBAL_SCOPES:
                continue
            if prefix not in ("", "SESSION", "LOCAL"):
                return None
        elif target.kind == WORD:
            if sticky_global:
                continue
            name = target.value
        else:
            return None
        if (
            name in _NOT_REPLAYED
            or name.startswith(_NOT_REPLAYED_PREFIXES)
            or name in ("TRANSACTION", "ROLE", "PASSWORD", "DEFAULT", "STATEMENT")
            or not name.replace("_", "").isalnum()
        ):
            return None
        if index + 2 >= end or not (
            tokens[index + 1].kind == OP and tokens[index + 1].value in ("=", ":=")
        ):
            return None
        if any_value:
            value: str | None = sql[tokens[index + 2].start : tokens[end - 1].end]
        else:
            value = _literal(tokens, index + 2, end, sql, parameters)
        if value is None:
            return None
        item = "@@SESSION.%s = %s" % (name.lower(), value)
        found.append((CHARSET if name in _CHARSET_VARIABLES else name.lower(), item))
    return found


def _literal(tokens: Sequence[Token], lo: int, hi: int, sql: str, parameters: bool) -> str | None:
    """The text of tokens[lo:hi] if it is one literal value, else None."""
    if lo < hi and tokens[lo].kind == OP and tokens[lo].value in ("+", "-"):
        if hi - lo == 2 and tokens[lo + 1].kind == NUMBER:
            return sql[tokens[lo].start : tokens[lo + 1].end]
        return None
    if hi - lo != 1:
        return None
    token = tokens[lo]
    if token.kind in (STRING, NUMBER, WORD) or (parameters and token.kind == PARAM):
        return sql[token.start : token.end]
    return None
