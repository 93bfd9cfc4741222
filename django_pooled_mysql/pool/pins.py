"""Why connections are pinned, in a few words: the kind of each pin, where it was taken, and the
first pin of each kind from each call site logged once.

A pinned lease (pinned.py) carries a *reason*, the lease layer's sentence (``"transaction"``,
``"raw connection attribute 'x'"``, the SQL rules' ``"user variable assignment"``, ...). For
counters, Prometheus labels and the holders snapshot, each reason maps to a *kind* from a short,
fixed vocabulary (``KINDS``, and ``session_state:<what>``): reasons name attributes and
statements, kinds stay few enough for a metric label.

Kinds differ in how long they hold a connection: a transaction, ``pinned()``, a server-side
cursor end with their scope;
session state and raw-connection use last until the Django connection is closed (``LASTING``).
A lease that gains a reason to be held longer than its current one (a transaction that assigns a
user variable) counts a pin of the new kind too (``outlasts()``).

All of this runs when a pin starts, never on a statement lease: finding the call site walks the
stack (a few microseconds, against the round trips a pin costs anyway); logging is decided on a
set of (kind, file, line) seen, bounded by ``PinSites.LIMIT``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
from typing import Any

logger = logging.getLogger("django_pooled_mysql")

TRANSACTION = "transaction"
PINNED = "pinned"
SERVER_SIDE_CURSOR = "server_side_cursor"
RAW_CONNECTION = "raw_connection"
SESSION_STATE = "session_state:"

# The lease layer's own reasons (lease/connection.py, lease/cursor.py), by kind.
_REASONS = {
    "transaction": TRANSACTION,
    "pinned()": PINNED,
    "server-side cursor": SERVER_SIDE_CURSOR,
    "session state changed by the statement (server's session tracker)": SESSION_STATE + "tracker",
}
_RAW_CONNECTION = "raw connection attribute "

# What a statement leaves on the session (sql/'s verdicts, ``Verdict.leaves``) -> the <what> of
# its kind. tests/unit/pool/test_pins.py fails with the name of a rule missing here.
_SESSION_STATE = {
    "SET": "set",
    "user variable assignment": "user_variable",
    "LOCK TABLES": "table_lock",
    "FLUSH TABLES FOR EXPORT": "table_lock",
    "FLUSH TABLES WITH READ LOCK": "global_read_lock",
    "LOCK INSTANCE FOR BACKUP": "backup_lock",
    "BACKUP STAGE": "backup_lock",
    "BACKUP LOCK": "backup_lock",
    "GET_LOCK()": "named_lock",
    "SERVICE_GET_WRITE_LOCKS()": "named_lock",
    "SERVICE_GET_READ_LOCKS()": "named_lock",
    "CREATE TEMPORARY TABLE": "temporary_table",
    "CREATE TEMPORARY SEQUENCE": "temporary_table",
    "PREPARE": "prepared_statement",
    "EXECUTE": "prepared_statement",
    "EXECUTE IMMEDIATE": "prepared_statement",
    "DEALLOCATE PREPARE": "prepared_statement",
    "BEGIN": "sql_transaction",
    "START TRANSACTION": "sql_transaction",
    "COMMIT AND CHAIN": "sql_transaction",
    "ROLLBACK AND CHAIN": "sql_transaction",
    "XA": "sql_transaction",
    "session identity (CONNECTION_ID())": "session_identity",
    "session identity (PS_CURRENT_THREAD_ID())": "session_identity",
    "session identity (@@pseudo_thread_id)": "session_identity",
    "session identity (SHOW SESSION STATUS)": "session_identity",
    "SQL_CALC_FOUND_ROWS": "found_rows",
    "LAST_INSERT_ID(expr)": "last_insert_id",
    "NEXT VALUE FOR": "sequence",
    "NEXTVAL()": "sequence",
    "SETVAL()": "sequence",
    "USE": "use",
    "HANDLER": "handler",
    "CALL": "call",
    "unparsed SQL": "unparsed",
}

# The kinds besides session_state:<what>, in the order the docs list them.
KINDS = (TRANSACTION, PINNED, SERVER_SIDE_CURSOR, RAW_CONNECTION)
_NOT_A_WORD = re.compile(r"[^a-z0-9]+")


def kind_of(reason: str) -> str:
    """The kind of a pin's reason (the module docstring)."""
    kind = _REASONS.get(reason)
    if kind is not None:
        return kind
    if reason.startswith(_RAW_CONNECTION):
        return RAW_CONNECTION
    what = _SESSION_STATE.get(reason)
    if what is None:
        # A rule newer than the table above: still one label per rule, never per statement.
        what = _NOT_A_WORD.sub("_", reason.lower()).strip("_") or "other"
    return SESSION_STATE + what


def lasting(kind: str) -> bool:
    """Whether a kind holds its connection until the Django connection is closed."""
    return kind == RAW_CONNECTION or kind.startswith(SESSION_STATE)


def outlasts(kind: str, current: str) -> bool:
    """Whether a lease pinned for ``current`` is now held longer because of ``kind``."""
    if kind == current:
        return False
    return lasting(kind) and not lasting(current)


# -- where a pin was taken ---------------------------------------------------------------------

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
# Frames that are the way to a pin, not its caller: Django's database layer and the helpers its
# methods are wrapped in (async_unsafe, cached_property), and context managers (atomic() as a
# decorator, pinned()).
_PASSAGES = tuple(os.sep + "django" + os.sep + part + os.sep for part in ("db", "utils"))
_CONTEXTLIB = contextlib.__file__
# filename -> whether its frames are passed over (bounded by the number of source files).
_passed_over: dict[str, bool] = {}


def _passage(filename: str) -> bool:
    passed = _passed_over.get(filename)
    if passed is None:
        passed = _passed_over[filename] = (
            filename.startswith(_PACKAGE)
            or filename == _CONTEXTLIB
            or any(part in filename for part in _PASSAGES)
        )
    return passed


# Where a pin was asked for: (file, line, function).
Site = tuple[str, int, str]


def where(site: Site) -> str:
    """A call site as logs show it: "file:line in function"."""
    return "%s:%d in %s" % site


# Modules whose frames are passed over, by name (the same passages as above).
_PASSAGE_MODULES = (__name__.partition(".")[0] + ".", "django.db.", "django.utils.", "contextlib")
_module_at: Any = getattr(sys, "_getframemodulename", None)  # Python 3.12+


def call_site() -> Site | None:
    """(file, line, function) of the first frame outside this package and Django's database
    layer, or None if there is none.

    A pin is taken some 20 frames below its caller, and reading a frame object makes the
    interpreter build it (Python 3.11+): walking them cost more than the rest of a pin. Where
    the interpreter can name a frame's module without building it (3.12+), the caller is found
    by name and only its frame is built."""
    if _module_at is not None:
        depth = 1
        while True:
            module = _module_at(depth)
            if module is None:
                break  # the end of the stack, or a frame without a module name
            if not module.startswith(_PASSAGE_MODULES):
                frame = sys._getframe(depth)
                code = frame.f_code
                if not _passage(code.co_filename):
                    return code.co_filename, frame.f_lineno, code.co_name
                break  # named like a caller but passed over by file: walk as below
            depth += 1
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if not _passage(code.co_filename):
            return code.co_filename, frame.f_lineno, code.co_name
        frame = frame.f_back  # type: ignore[assignment]
    return None


def current_holder() -> tuple[str, int]:
    """The name and id of the calling thread, or of the calling greenlet under gevent."""
    ident = threading.get_ident()  # the greenlet's under gevent's monkey-patching
    # Looked up, not imported: an import statement here would cost more than the rest of this.
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        current = sys.modules["gevent"].getcurrent()
        name = getattr(current, "name", None)  # gevent.Greenlet's; a bare greenlet has none
        if isinstance(name, str):
            return name, ident
    return threading.current_thread().name, ident


# -- the statement, as logs may show it ----------------------------------------------------------

# At most this many characters of a statement are shown.
STATEMENT_CHARS = 200
# String literals (also one cut short by the truncation): a password (IDENTIFIED BY '...', SET
# PASSWORD = '...') or personal data never reaches a log; numbers and names stay.
_LITERAL = re.compile(r"""'(?:[^'\\]|\\.|'')*(?:'|$)|"(?:[^"\\]|\\.|"")*(?:"|$)""", re.S)


def statement_text(statement: Any) -> str | None:
    """A statement as logs show it: string literals replaced by '?', whitespace collapsed, at
    most STATEMENT_CHARS characters. Parameters are never part of it (only the statement's text
    with its placeholders is passed here)."""
    if statement is None:
        return None
    if not isinstance(statement, (str, bytes, bytearray)):
        statement = str(statement)
    # Enough for STATEMENT_CHARS once literals and spaces are squeezed, without scanning a huge
    # statement (a bulk INSERT) to the end.
    head = statement[: STATEMENT_CHARS * 20]
    if isinstance(head, (bytes, bytearray)):
        text = bytes(head).decode("utf-8", "replace")
    else:
        text = str(head)
    text = " ".join(_LITERAL.sub("'?'", text).split())
    if len(text) > STATEMENT_CHARS or len(head) < len(statement):
        text = text[: STATEMENT_CHARS - 3] + "..."
    return text


class PinSites:
    """One pool's call sites that pinned, by kind: the first pin of each is logged once.

    Finding the call site costs more than the rest of a pin (some 30k instructions for the
    20-odd frames between an ORM call and the pin, against ~60k for a whole ``atomic()`` with
    two inserts): it is looked for at each of a pool's first ``FIRST`` pins, then at one pin in
    ``EVERY``. A call site first used after that is logged at one of its first pins rather than
    its very first; holders() shows a lease's site when it was looked for, and its whole stack
    with ``leak_warning_after``.
    """

    # Sites remembered per pool; beyond that, first pins are no longer logged (said once).
    LIMIT = 1000
    FIRST = 32
    EVERY = 16

    def __init__(self, pool_name: str) -> None:
        self._pool_name = pool_name
        self._seen: set[tuple[str, str, int]] = set()
        self._lock = threading.Lock()
        self._full = False
        # Pins seen (not locked: a lost increment only moves the sample by one).
        self._pins = 0

    def note(self, kind: str, reason: str, statement: Any) -> Site | None:
        """Where the pin being taken was asked for; logs it at INFO the first time this kind of
        pin comes from there."""
        self._pins = pins = self._pins + 1
        if pins > self.FIRST and pins % self.EVERY:
            return None
        site = call_site()
        if site is None:
            return None
        key = (kind, site[0], site[1])
        if key in self._seen or self._full:
            return site
        with self._lock:
            if key in self._seen or self._full:
                return site
            if len(self._seen) >= self.LIMIT:
                self._full = True
                logger.info(
                    "pool %s: %d call sites have pinned connections; first pins from others are "
                    "not logged",
                    self._pool_name,
                    self.LIMIT,
                )
                return site
            self._seen.add(key)
        text = statement_text(statement)
        logger.info(
            "pool %s: first pin for %s (%s) from %s%s (logged once per kind and call site)",
            self._pool_name,
            kind,
            reason,
            where(site),
            ": %s" % text if text else "",
        )
        return site
