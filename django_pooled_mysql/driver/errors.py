"""Which driver errors mean a connection is gone, and which prove a statement never ran."""

from __future__ import annotations

DISCONNECT_CODES = frozenset(
    {
        1927,  # ER_CONNECTION_KILLED (MariaDB): KILL CONNECTION or server shutdown
        2006,  # CR_SERVER_GONE_ERROR: the socket was closed before or while sending
        2013,  # CR_SERVER_LOST: the connection dropped while waiting for the answer
        2014,  # CR_COMMANDS_OUT_OF_SYNC: protocol state is lost; the connection is unusable
        2045,  # CR_CONN_UNKNOW_PROTOCOL / named-pipe failures: cannot talk to the server
        2055,  # CR_SERVER_LOST_EXTENDED: lost connection at a known stage
        4031,  # ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8): server closed an idle connection
    }
)

# Errors that prove the statement never reached the server, so it may be sent again on a fresh
# connection. Measured here: a connection killed while idle and one killed mid-statement both
# report 2013, so 2013 proves nothing and is never retried.
NOT_RUN_CODES = frozenset(
    {
        2006,  # both drivers raise it when writing the command failed: nothing was sent
        4031,  # the server announced it had closed the idle connection before we wrote
    }
)


def never_reached_server(exc: BaseException) -> bool:
    """True if exc proves the statement was not sent, so retrying cannot run it twice."""
    if not isinstance(exc, Exception):
        return False
    code = error_code(exc)
    # InterfaceError(0, ...): the driver refused because its socket was already closed.
    return code in NOT_RUN_CODES or (code == 0 and type(exc).__name__ == "InterfaceError")


def error_code(exc: BaseException) -> int | None:
    """The MySQL error number of a driver exception, if it carries one."""
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], int):
        return args[0]
    return None


def is_disconnect(exc: BaseException) -> bool:
    """True if exc means the physical connection must not be used again."""
    if not isinstance(exc, Exception):
        # gevent.Timeout, KeyboardInterrupt, greenlet kill: the protocol may be half-way through
        # a packet, so the connection's state is unknown.
        return True
    if error_code(exc) in DISCONNECT_CODES:
        return True
    # PyMySQL raises InterfaceError(0, '') when used on a closed socket.
    return type(exc).__name__ == "InterfaceError"
