"""Session variables replayed on each lease, instead of a pinned connection that keeps them.

A Django connection that runs ``SET time_zone = '+03:00'`` (sql/assignments.py says which SETs
can be replayed) carries the values it asked for, its *wanted* state; every physical connection
carries the values set on it beyond what the pool's session setup gave it, its *current* state
(``connection.session_vars``; ``()`` on a new or reset connection). Before a statement runs on
a leased connection whose state is not the wanted one, one ``SET`` brings it there (MySQL
Router's connection sharing does the same, after a reset). A value the connection has and the
Django connection does not want goes back to the pool's *baseline*: the value a session has after
the pool's setup, read once per pool and variable (``SELECT @@SESSION.x``) on a connection that
still has it, before the first SET of that variable runs there.

States are tuples of ``(key, item)`` sorted by key, interned, so that the per-statement check is
one identity comparison (``connection.session_vars is wanted``); the interning table is bounded
(a workload of ever-new values refills it: equal states then compare equal by value). Items are
what follows SET (``@@SESSION.time_zone = '+03:00'``); the character set family is one key whose
item is its assignments in order (assignments.py), and goes back to its baseline as a whole
before another value is applied.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from ..driver.execute import run_on
from ..sql.assignments import CHARSET, CHARSET_VARIABLES, Assignment

State = tuple[Assignment, ...]
EMPTY: State = ()

_interned: dict[State, State] = {EMPTY: EMPTY}
_INTERNED_MAX = 4096
# A baseline that cannot be written back (NULL where the variable takes no NULL): a connection
# that has the variable set goes back to it by a reset (lease/connection.py).
UNKNOWN = None
_WORDS_AS_NUMBERS = {"ON": "1", "OFF": "0", "TRUE": "1", "FALSE": "0"}


def _intern(state: State) -> State:
    known = _interned.get(state)
    if known is not None:
        return known
    if len(_interned) >= _INTERNED_MAX:
        _interned.clear()
        _interned[EMPTY] = EMPTY
    _interned[state] = state
    return state


def merged(state: State, assignments: tuple[Assignment, ...], baselines: dict[str, Any]) -> State:
    """state after a SET of assignments; values equal to the pool's baseline are dropped."""
    values = dict(state)
    for key, item in assignments:
        if key == CHARSET:
            starts_unit = item.upper().startswith(("NAMES", "CHARACTER", "CHARSET"))
            before = values.get(CHARSET)
            values[CHARSET] = item if starts_unit or before is None else before + ", " + item
        elif _same_value(item, baselines.get(key)):
            values.pop(key, None)
        else:
            values[key] = item
    return _intern(tuple(sorted(values.items())))


def _same_value(item: str, baseline: Any) -> bool:
    # Whether an item sets the value a session has anyway (SET foreign_key_checks = 1 after a 0).
    if baseline is None:
        return False
    value = item.partition(" = ")[2].strip()
    if value[:1] in ("'", '"'):
        value = value[1:-1]
    return _WORDS_AS_NUMBERS.get(value.upper(), value) == _WORDS_AS_NUMBERS.get(
        baseline[1].upper(), baseline[1]
    )


def missing_baselines(
    keys: tuple[str, ...], current: State, baselines: dict[str, Any]
) -> list[str]:
    """Keys whose baseline the pool has not read yet and that this connection still has."""
    have = dict(current)
    return [key for key in keys if key not in baselines and key not in have]


def read_baselines(connection: Any, keys: list[str], baselines: dict[str, Any]) -> None:
    """Read keys' values on connection (which has them at their baseline) into baselines:
    {key: (revert item, value text)}, or UNKNOWN where the value cannot be written back."""
    names: list[str] = []
    for key in keys:
        names.extend(CHARSET_VARIABLES if key == CHARSET else (key,))
    query = "SELECT " + ", ".join("@@SESSION.%s" % name for name in names)
    row = run_on(connection, "execute", query, None)[0][0][1][0]
    values = dict(zip(names, row, strict=True))
    for key in keys:
        if key == CHARSET:
            items = [
                "@@SESSION.%s = %s" % (name, _literal(values[name])) for name in CHARSET_VARIABLES
            ]
            baselines[key] = (", ".join(items), "")
        elif values[key] is None:
            baselines[key] = UNKNOWN
        else:
            literal = _literal(values[key])
            text = values[key].decode() if isinstance(values[key], bytes) else str(values[key])
            baselines[key] = ("@@SESSION.%s = %s" % (key, literal), text)


_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_PLAIN = re.compile(r"[A-Za-z0-9_+\-:,./ ]*")


def as_item(key: str, value: str) -> Assignment:
    """The assignment that gives a variable a value the server reported (tracker values are
    text: a number stays one, anything else is a string)."""
    if _NUMBER.fullmatch(value):
        literal = value
    elif _PLAIN.fullmatch(value):
        literal = "'%s'" % value  # readable, and compared with the baseline as text
    else:
        literal = _literal(value)
    return key, "@@SESSION.%s = %s" % (key, literal)


def _literal(value: Any) -> str:
    # SQL for a value read back from the server. A string as a hex literal, which reads the same
    # whatever the session's sql_mode and character set (no driver call: PyMySQL deprecates its
    # literal()).
    if value is None:
        return "NULL"
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return str(value)
    raw = value if isinstance(value, bytes) else str(value).encode("utf-8")
    return "CONVERT(X'%s' USING utf8mb4)" % raw.hex() if raw else "''"


# What the server answered a SET call (the pool, the statement as written, its parameters):
# such a call answered before is answered without a connection at all (lease/connection.py):
# (its assignments, its result).
_calls: dict[tuple[str, str, Any], tuple[tuple[Assignment, ...], Any]] = {}


def call_key(pool_name: str, query: Any, args: Any) -> tuple[str, str, Any] | None:
    """The key of a SET call in the answered calls, or None if its parameters are not plain."""
    if type(query) is not str:
        return None
    if args is None:
        return pool_name, query, None
    if isinstance(args, (list, tuple)) and all(type(arg) in (str, int) for arg in args):
        return pool_name, query, tuple(args)
    return None


def answered_call(key: tuple[str, str, Any] | None) -> Any:
    """(assignments, result) of a SET call answered before without warnings, or None."""
    return None if key is None else _calls.get(key)


_CALLS_MAX = 256


def remember_call(key: tuple[str, str, Any] | None, found: Any, result: Any) -> None:
    """Remember a SET call's assignments and result for answered_call()."""
    if key is not None:
        if len(_calls) >= _CALLS_MAX:
            _calls.clear()
        _calls[key] = (found, result)


def bringing(current: State, wanted: State, baselines: dict[str, Any]) -> str | None:
    """The SET statement that brings a connection from current to wanted ("" if nothing is to
    do); None if a value must go back to a baseline that is not known (reset the connection)."""
    have = dict(current)
    want = dict(wanted)
    items = []
    for key, item in current:
        if key not in want or (key == CHARSET and want[key] != item):
            baseline = baselines.get(key)
            if baseline is None:
                return None
            items.append(baseline[0])
    for key, item in wanted:
        if have.get(key) != item:
            items.append(item)
    return "SET " + ", ".join(items) if items else ""


def bring_to(connection: Any, wanted: State, baselines: dict[str, Any]) -> bool | None:
    """Give connection the wanted state: True if that took a SET, False if nothing was to do,
    None if it takes a reset instead (nothing was sent)."""
    statement = bringing(connection.session_vars, wanted, baselines)
    if statement is None:
        return None
    if statement:
        run_on(connection, "execute", statement, None)
    connection.session_vars = wanted
    return bool(statement)
