"""Which errors mean a connection is gone; a check for a dead idle connection with no round trip."""

from __future__ import annotations

import os
import select
from typing import Any

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


def _fileno(conn: Any) -> int:
    # mysqlclient exposes fileno(); PyMySQL keeps the socket in _sock (None once closed).
    fileno = getattr(conn, "fileno", None)
    if fileno is not None:
        return int(fileno())
    sock = getattr(conn, "_sock", None)
    return -1 if sock is None else int(sock.fileno())


def _get_poll() -> Any:
    try:
        from gevent.monkey import get_original

        return get_original("select", "poll")
    except ImportError:
        return select.poll


_poll = _get_poll()


def idle_probe(conn: Any) -> tuple[Any, int]:
    """A poll object on conn's socket and the socket's descriptor (None, -1 if no socket).

    Made once per physical connection, at connect.
    """
    try:
        fd = _fileno(conn)
    except Exception:
        return None, -1
    if fd < 0:
        return None, -1
    return probe_for(fd), fd


def probe_for(fd: int) -> Any:
    """A poll object on the socket of descriptor fd (see idle_probe())."""
    poller = _poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return poller


def set_tcp_keepalive(fd: int, idle: float) -> bool:
    """Turn TCP keepalive on for the socket fd: probes after idle seconds, every idle / 6 s (at
    least 1 s), 3 times, so a dead peer is found about idle * 1.5 s after the last packet.
    False for a socket that is not TCP (a Unix socket) or a platform without the options.

    Keepalive probes only run while nothing is in flight; a request sent into a partition is
    retransmitted instead, for up to ~15 minutes by Linux's defaults. TCP_USER_TIMEOUT bounds
    that with the same figure (it also caps the keepalive probing, as tcp(7) says)."""
    import socket

    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return False
    try:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return False
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, max(1, int(idle)))
        interval = max(1, int(idle / 6))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, interval)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
        user_timeout = getattr(socket, "TCP_USER_TIMEOUT", None)
        if user_timeout is not None:
            dead_after_ms = (max(1, int(idle)) + 3 * interval) * 1000
            sock.setsockopt(socket.IPPROTO_TCP, user_timeout, dead_after_ms)
        return True
    except (OSError, AttributeError):
        return False
    finally:
        sock.close()  # the duplicate only: the driver's descriptor stays open


def peer_has_spoken(probe: Any) -> bool:
    """True if an idle connection has data or EOF waiting, i.e. the server dropped it.

    MySQL's protocol is strictly request/response: an idle connection in autocommit mode never
    has anything to read unless the server sent an error and closed it (KILL, wait_timeout,
    shutdown). A zero-timeout poll costs one system call (~1 us) and no round trip.
    """
    return probe is None or bool(probe.poll(0))
