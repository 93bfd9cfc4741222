"""What the pool keeps about each physical connection, in its SQLAlchemy record's ``info``, from
connect to close: the server's session id (for cancelling it), the socket's descriptor and a
zero-timeout probe on it (the idle check with no round trip), the end of its lifetime, and the
session-state tracker's handle. Under PyMySQL the pool keeps a second descriptor of its own on
the socket: PyMySQL closes its own when interrupted mid-read, and the server's answer must still
be seen (cancel.py).
"""

from __future__ import annotations

import os
import random
from typing import TYPE_CHECKING, Any

from ..driver.native import native_for
from ..driver.sockets import idle_probe, probe_for, set_tcp_keepalive

if TYPE_CHECKING:
    from .pool import ConnectionPool


def note_connection(pool: ConnectionPool, conn: Any, info: dict[str, Any]) -> None:
    """Record what the pool keeps about a new connection in its record's info."""
    if not pool.connection_attributes:
        pool.connection_class = type(conn)
        pool.connection_attributes = frozenset(dir(conn))
    conn.in_flight = None  # wire.py: idle, nothing unread
    # Session variables set on it beyond the pool's setup (lease/variables.py): none yet.
    conn.session_vars = ()
    # The server's id of the session, to cancel it if a command is interrupted (cancel.py).
    thread_id = getattr(conn, "thread_id", None)
    info["thread_id"] = thread_id() if thread_id is not None else None
    probe, fd = idle_probe(conn)
    info["probe"] = probe
    info["fd"] = fd
    if fd >= 0:
        pool.fds[fd] = info
        if pool.options.tcp_keepalive is not None:
            set_tcp_keepalive(fd, pool.options.tcp_keepalive)
        if hasattr(conn, "_force_close"):
            # PyMySQL closes its socket when interrupted mid-read: a descriptor of the
            # pool's own keeps the socket, so that the server's answer can still be seen
            # (cancel.py); the socket closes with the connection (_on_close()).
            watch = info["watch_fd"] = os.dup(fd)
            pool.fds[watch] = info
            info["probe"] = probe_for(watch)
    info["fresh"] = True
    lifetime = pool.options.lifetime
    if lifetime is not None:
        # max_lifetime less a random 0-10 %, so that connections opened together do not all
        # expire together; recycle is exact.
        spread = 1.0 if pool.options.recycle is not None else random.uniform(0.9, 1.0)
        info["retire_at"] = pool.clock() + lifetime * spread
    pool.maintenance.schedule()
    # The server's session-state tracker for this connection, where it can be read.
    native = native_for(conn)
    if native is not None and native.tracks_state:
        native.watch_status()
        info["native"] = native
    else:
        info["native"] = None


def forget_descriptors(pool: ConnectionPool, info: dict[str, Any]) -> None:
    """The connection closes: its descriptors are no longer the pool's."""
    # The connection closes: its descriptor is no longer the pool's, and the pool's own
    # second descriptor on the socket (PyMySQL) closes with it.
    fd = info.get("fd", -1)
    if pool.fds.get(fd) is info:
        del pool.fds[fd]
    watch = info.pop("watch_fd", None)
    if watch is not None:
        del pool.fds[watch]
        os.close(watch)


def close_quietly(connection: Any) -> None:
    # A close that SQLAlchemy's record did not complete (interrupted): close the connection
    # itself, so that its socket does not wait for a garbage collection.
    if connection is None:
        return
    try:
        connection.close()
    except Exception:
        # PyMySQL refuses a second close() once its first began ("Already closed") and may
        # have been stopped before its socket was: its own last step closes that.
        force_close = getattr(connection, "_force_close", None)
        if force_close is not None:
            try:
                force_close()
            except Exception:
                pass
