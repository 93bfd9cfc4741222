"""Which statements leave state on the server session, so their connection must stay pinned.

Prior art: ProxySQL's multiplexing rules, MySQL Router's connection sharing and PgBouncer's
transaction-mode caveats. The check runs on every statement, so the common ORM statement (a
SELECT/INSERT/UPDATE/DELETE with none of the constructs below) must cost well under a microsecond
per hundred characters: one ``upper()`` and a few substring searches, no regular expression
unless a marker was found.
"""

from __future__ import annotations

import re
from typing import Any

# Statements whose first keyword means "this session now carries state".
_STATEFUL_COMMANDS = {
    "SET": "SET",  # user and session variables, NAMES, time_zone, sql_mode, autocommit, ...
    "LOCK": "LOCK TABLES",
    "PREPARE": "PREPARE",
    "EXECUTE": "EXECUTE",  # of a statement prepared on this session
    "DEALLOCATE": "DEALLOCATE PREPARE",
    "USE": "USE",
    "HANDLER": "HANDLER",
    "XA": "XA",
    "BEGIN": "BEGIN",
    "START": "START TRANSACTION",
    "CALL": "CALL",  # a procedure may set variables, create temporary tables, take locks
}

# First keywords of statements that are stateless unless they contain a marker below.
_DATA_COMMANDS = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "WITH", "VALUES", "TABLE", "DO"}
)

# Markers inside a statement, checked in this order.
_MARKERS = (
    ("GET_LOCK", "GET_LOCK()"),
    ("SQL_CALC_FOUND_ROWS", "SQL_CALC_FOUND_ROWS"),
    ("LAST_INSERT_ID", "LAST_INSERT_ID()"),
    ("FOUND_ROWS", "FOUND_ROWS()"),
)

_USER_VARIABLE_ASSIGNMENT = re.compile(r"(?<!@)@[\w$.`'\"]+\s*:=|\bINTO\s+@(?!@)")
_FIRST_KEYWORD = re.compile(r"(?:\s|/\*.*?\*/|\(|--[^\n]*\n|#[^\n]*\n)*([A-Z_]*)", re.S)
# What Django's ORM sends, recognised with one startswith() instead of the regular expression.
_ORM_PREFIXES = ("SELECT ", "INSERT ", "UPDATE ", "DELETE ")


def _classify_one(statement: str) -> str | None:
    if statement.startswith(_ORM_PREFIXES):
        keyword = "SELECT"
    else:
        match = _FIRST_KEYWORD.match(statement)
        keyword = match.group(1) if match else ""
    if keyword in _DATA_COMMANDS or keyword in ("SHOW", "DESCRIBE", "DESC", "EXPLAIN"):
        for marker, reason in _MARKERS:
            if marker in statement:
                return reason
        if "@" in statement and _USER_VARIABLE_ASSIGNMENT.search(statement):
            return "user variable assignment"
        return None
    if keyword == "CREATE":
        head = statement[:60]
        return "CREATE TEMPORARY TABLE" if "TEMPORARY" in head else None
    return _STATEFUL_COMMANDS.get(keyword)


# Django sends the same few hundred statement texts over and over (parameters travel apart), so
# their verdicts are remembered. Bounded: a workload of ever-new texts (values inlined into the
# SQL) just refills it; long texts (bulk inserts) are classified each time and never held.
_verdicts: dict[str, str | None] = {}
_VERDICTS_MAX = 2048
_CACHED_TEXT_MAX = 2000
_UNKNOWN: Any = object()


def session_effect(sql: Any) -> str | None:
    """The kind of session state sql leaves behind (for logs and stats), or None if none."""
    if type(sql) is str:
        verdict = _verdicts.get(sql, _UNKNOWN)
        if verdict is not _UNKNOWN:
            return verdict
        verdict = _classify(sql)
        if len(sql) <= _CACHED_TEXT_MAX:
            if len(_verdicts) >= _VERDICTS_MAX:
                _verdicts.clear()
            _verdicts[sql] = verdict
        return verdict
    return _classify(sql)


def _classify(sql: Any) -> str | None:
    if isinstance(sql, (bytes, bytearray)):
        sql = bytes(sql).decode("utf-8", "replace")
    statement = str(sql).upper()
    if ";" in statement:
        # Several statements in one execute (mysqlclient allows it): any of them may pin.
        for part in statement.split(";"):
            reason = _classify_one(part)
            if reason is not None:
                return reason
        return None
    return _classify_one(statement)
