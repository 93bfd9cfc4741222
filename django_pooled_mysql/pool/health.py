"""The checkout's health check: no round trip for a connection idle a moment ago.

A connection from the idle queue is handed out as it is when its socket shows nothing (a
zero-timeout ``poll()``: a server that dropped it has sent EOF) and it was idle no longer than
``ping_after``; otherwise it is pinged, and one that fails is replaced. A connection past its
lifetime is closed and reconnected in its place. An interrupted ping leaves its answer unread:
the connection is given up, never handed on (driver/wire.py).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING, Any

from ..driver import cooperative
from ..driver.sockets import peer_has_spoken
from .cancel import GivenUp

if TYPE_CHECKING:
    from .pool import ConnectionPool

logger = logging.getLogger("django_pooled_mysql")

_NEVER = float("inf")


def checked_connection(pool: ConnectionPool, record: Any) -> Any:
    """The connection of a record taken from the idle queue (or handed over), after the
    health check: reconnected if needed; the checkout event fires."""
    try:
        connection = _healthy_connection(pool, record)
    except BaseException as exc:
        stuck = record.dbapi_connection
        if stuck is not None and stuck.in_flight is not None:
            # The health check's ping was interrupted: its answer is unread.
            pool.invalidate(record, exc)
        else:
            # The record goes back (without a connection); the next checkout reconnects it.
            pool.after_connect_failed(partial(pool.return_record, record))
        raise
    listeners = pool._on_checkout
    if listeners.listeners or listeners.parent_listeners:
        listeners(connection, record, None)
    return connection


def _healthy_connection(pool: ConnectionPool, record: Any) -> Any:
    options = pool.options
    if record.dbapi_connection is not None and pool.clock() >= record.info.get("retire_at", _NEVER):
        pool.count("closed_lifetime")
        logger.debug("pool %s: close connection at the end of its lifetime", pool.name)
        record.close()
    # get_connection() also reconnects a record whose connection was invalidated or closed.
    connection = record.dbapi_connection or pool.within_timeout(record.get_connection)
    info = record.info
    if info.pop("fresh", False) or not options.pre_ping:
        return connection
    idle_for = pool.clock() - info.get("idle_since", 0.0)
    if peer_has_spoken(info.get("probe")) or (
        idle_for > options.ping_after and not _ping(connection)
    ):
        record.invalidate(GivenUp("dropped by the server while idle"))
        connection = pool.within_timeout(record.get_connection)
        info.pop("fresh", None)
    return connection


def keepalive(connection: Any) -> bool:
    """A round trip that keeps an idle connection alive; False if it failed."""
    try:
        cooperative.ping(connection)
    except Exception:
        return False
    return True


def _ping(connection: Any) -> bool:
    # The checkout's health check: on the hub for a cooperative connection (gevent_support).
    return keepalive(connection)
