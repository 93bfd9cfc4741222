"""A pooled connection's socket: a check for a dead idle connection with no round trip, and TCP
keepalive for networks that fail without a FIN."""

from __future__ import annotations

import os
import select
from typing import Any


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
