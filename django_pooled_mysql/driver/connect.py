"""Open a physical connection, give its session the pool's settings, and reset it for reuse.

Django-free: base.py passes the driver module and Django's connection parameters.

Every physical connection's session starts the same way: the driver connects with Django's
parameters (character set, ``init_command``, ``sql_mode``, autocommit on), then the settings
Django's backend would apply per connection run once (``SQL_AUTO_IS_NULL = 0`` where the server
defaults to 1, the transaction isolation level) and, where the session-state tracker can be
read (native.py), ``session_track_state_change`` is switched on.

A session that carried state is reset with ``COM_RESET_CONNECTION`` where the driver reaches it
(mysqlclient, through native.py) and then given the same settings again, because the reset
returns the session variables to the server's global values and drops what ``init_command``
set, keeps the current database, and leaves the client library's idea of the character set
behind (all measured on MariaDB 10.11). Parameters whose effect a reset cannot reproduce (an
option file) make the pool close and reconnect instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from . import cooperative
from .execute import check_connection, is_driver_error
from .native import native_for
from .wire import RESET

# The same query Django's MySQL backend runs per connection, run here once per pool.
SERVER_FACTS_SQL = """
    SELECT VERSION(),
           @@sql_mode,
           @@default_storage_engine,
           @@sql_auto_is_null,
           @@lower_case_table_names,
           CONVERT_TZ('2001-01-01 01:00:00', 'UTC', 'UTC') IS NOT NULL,
           @@max_connections,
           @@max_user_connections,
           @@wait_timeout
"""

# Connection parameters whose session effect a reset followed by session_statements() cannot
# reproduce: option files may set anything (init-command, sql-mode, character set).
_NOT_REPLAYABLE = frozenset({"read_default_file", "read_default_group"})


def read_server_facts(conn: Any) -> dict[str, Any]:
    """Server facts in the shape of Django's ``mysql_server_data``."""
    cursor = conn.cursor()
    try:
        cursor.execute(SERVER_FACTS_SQL)
        row = cursor.fetchone()
    finally:
        cursor.close()
    return {
        "version": row[0],
        "sql_mode": row[1],
        "default_storage_engine": row[2],
        "sql_auto_is_null": bool(row[3]),
        "lower_case_table_names": bool(row[4]),
        "has_zoneinfo_database": bool(row[5]),
        # For the message when the server refuses connections for capacity.
        "max_connections": row[6],
        "max_user_connections": row[7],
        # For the check of the pool's lifetime and keepalive against the server's idle limit.
        "wait_timeout": row[8],
    }


class SessionSetup:
    """How the pool's sessions start: Django's parameters and the per-connection settings."""

    def __init__(
        self,
        database: Any,
        params: dict[str, Any],
        isolation_level: str | None,
        facts: dict[str, Any],
        cooperative: bool,
    ) -> None:
        self.database = database
        # Copied: the caller's dict is never changed, and these are fixed for the pool's life.
        self.params = dict(params)
        self.isolation_level = isolation_level
        # Filled by the pool's first connection, shared with the pool.
        self.facts = facts
        self.cooperative = cooperative
        self.replayable = not (_NOT_REPLAYABLE & set(params))
        # The character set the driver set up at connect, for after a reset.
        self.charset: str | None = params.get("charset")

    def open(self, timeout: float | None = None) -> Any:
        """A new physical connection whose session has the pool's settings.

        timeout: the seconds left to the caller that needs it (the pool's ``timeout``); the
        driver's ``connect_timeout`` is lowered to it, so that a server that accepts TCP but
        never answers cannot keep the caller, and the place it took, longer than that.
        """
        database = self.database
        params = self.params
        if timeout is not None:
            # Whole seconds, at least 1: mysqlclient takes an integer.
            limit = max(1, math.ceil(timeout))
            given = params.get("connect_timeout")
            if given is None or float(given) > limit:
                params = {**params, "connect_timeout": limit}
        if (
            self.cooperative
            and cooperative.gevent_patched()
            and cooperative.is_mysqlclient(database)
        ):
            conn = cooperative.cooperative_connect(database, params)
        else:
            try:
                conn = database.connect(**params)
            except BaseException as exc:
                if not isinstance(exc, Exception):
                    _close_half_made(exc)
                raise
        try:
            # Whether this connection's statements may skip the driver cursor (not if a tracer
            # instruments it), decided per connect so that a tracer installed later is seen.
            check_connection(conn, database)
            if self.charset is None:
                self.charset = conn.character_set_name()
            if not self.facts:
                self.facts.update(read_server_facts(conn))
            self._run(conn, self.session_statements(tracker=_has_tracker(conn)))
        except BaseException:
            conn.close()
            raise
        return conn

    def session_statements(self, tracker: bool) -> list[str]:
        """The statements that give a connected session the pool's settings."""
        statements = []
        if self.facts["sql_auto_is_null"]:
            # As in Django's backend: make `col IS NULL` not match the last inserted row.
            statements.append("SET SQL_AUTO_IS_NULL = 0")
        if self.isolation_level:
            statements.append(
                "SET SESSION TRANSACTION ISOLATION LEVEL %s" % self.isolation_level.upper()
            )
        if tracker:
            # The server then flags every statement that changes the session, and reports the
            # system variables a statement set with their values (lease/connection.py).
            statements.append(
                "SET SESSION session_track_state_change = ON, session_track_system_variables = '*'"
            )
        return statements

    def reset(self, conn: Any) -> bool:
        """Reset conn's session to how open() left it; False if this connection cannot be.

        False means nothing was sent: the caller closes the connection instead. An error
        raised here means the reset failed half-way: the caller must close the connection.
        """
        native = native_for(conn)
        if not self.replayable or native is None or not native.can_reset:
            return False
        try:
            self._reset(conn, native)
        except BaseException as exc:
            # Half reset: the caller closes the connection. Interrupted (not a driver error), an
            # answer may be unread or to come: it is marked in flight, never read (wire.py).
            if not is_driver_error(exc):
                conn.in_flight = RESET
            raise
        return True

    def _reset(self, conn: Any, native: Any) -> None:
        if not _off_the_hub(conn, lambda _conn: native.reset()):
            from MySQLdb import OperationalError

            raise OperationalError(conn.errno(), conn.error())
        params = self.params
        # The client library keeps the character set it last heard of (SET NAMES included).
        charset = self.charset
        if charset and conn.character_set_name() != charset:
            _off_the_hub(conn, lambda conn: conn.set_character_set(charset))
        statements = []
        database = params.get("database", params.get("db"))
        if database:
            # The reset keeps the current database.
            statements.append("USE `%s`" % str(database).replace("`", "``"))
        # In the order the driver applies them at connect.
        if params.get("init_command"):
            statements.append(params["init_command"])
        statements.extend(self.session_statements(tracker=native.tracks_state))
        # One round trip: mysqlclient (the only driver that resets in place) runs several
        # statements in one query.
        self._run(conn, ["; ".join(statements)])
        sql_mode = params.get("sql_mode")
        if sql_mode is not None:
            _off_the_hub(conn, lambda conn: conn.set_sql_mode(sql_mode))
        if not conn.get_autocommit():  # the server's global default may be off
            conn.autocommit(True)

    @staticmethod
    def _run(conn: Any, statements: list[str]) -> None:
        cursor = conn.cursor()
        try:
            # One statement per execute: PyMySQL does not enable multi-statements.
            for statement in statements:
                cursor.execute(statement)
        finally:
            cursor.close()


def _close_half_made(interruption: BaseException) -> None:
    # An interruption inside the driver's connection constructor, after it connected (its
    # character set, autocommit, ... steps): the half-made connection is reachable only from the
    # traceback's frames, which sit in reference cycles, so its session would stay open until a
    # garbage collection. Close it now.
    traceback = interruption.__traceback__
    while traceback is not None:
        made: Any = traceback.tb_frame.f_locals.get("self")
        if (
            made is not None
            and type(made).__name__ == "Connection"
            and type(made).__module__.endswith(".connections")
            and getattr(made, "open", False)
        ):
            try:
                made.close()
            except Exception:
                pass
        traceback = traceback.tb_next


def _off_the_hub(conn: Any, call: Callable[[Any], Any]) -> Any:
    # A round trip the driver makes in C (COM_RESET_CONNECTION, SET NAMES through the client
    # library): for a cooperative connection under gevent, in gevent's native thread pool, so
    # that a slow or silent server stops this greenlet only, not the whole worker.
    if getattr(conn, "cooperative", False):
        return cooperative.off_the_hub(call, conn)
    return call(conn)


def _has_tracker(conn: Any) -> bool:
    native = native_for(conn)
    return native is not None and native.tracks_state
