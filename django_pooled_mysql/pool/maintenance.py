"""Idle and lifetime management: the pool's periodic job, run by the process's housekeeper.

Once a round (``housekeeping_period``), each idle connection is taken out of the idle queue,
looked at, and closed, pinged or put back: closed when the server dropped it while idle, when it
has been idle longer than ``idle_timeout`` (down to ``min_idle``) or is past its lifetime;
pinged when it has been quiet longer than ``keepalive_time`` (the server's ``wait_timeout``
would otherwise close it). Then connections are opened up to ``min_idle``. A connection out of
the queue cannot be checked out meanwhile; what stays goes back behind the connections that were
idle less long. The job stops itself when the pool holds nothing, and is scheduled again by the
next connect. docs/dev/idle-management.md has the measurements behind the defaults.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..driver.errors import error_code
from ..driver.sockets import peer_has_spoken
from . import housekeeping
from .backoff import SERVER_FULL_CODES
from .cancel import GivenUp

if TYPE_CHECKING:
    from .options import PoolOptions
    from .pool import ConnectionPool

logger = logging.getLogger("django_pooled_mysql")

_NEVER = float("inf")


class IdleMaintenance:
    """One pool's idle connections, looked after (see the module docstring)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        # The job is scheduled with the housekeeper (it unschedules itself when idle).
        self.scheduled = False

    def schedule(self) -> None:
        """Run the job while the pool has connections to look after (called from a connect, an
        ordinary code path, never a callback)."""
        pool = self._pool
        if self.scheduled or pool.inherited:
            return
        self.scheduled = True
        housekeeping.housekeeper().every(
            ("idle", id(self)), pool.options.housekeeping_period, self.housekeep
        )
        self._warn_about_wait_timeout()

    def _warn_about_wait_timeout(self) -> None:
        # The server closes connections idle longer than wait_timeout: the pool's idle
        # connections survive only if they are pinged (or closed) sooner. Checked when the pool
        # has its first connection's server facts; checks.py's W002 applies the same rule.
        pool = self._pool
        wait_timeout = pool.facts.get("wait_timeout")
        if not wait_timeout:
            return
        limit = pool.options.idle_limit
        if limit is not None and limit < wait_timeout:
            return
        logger.warning(
            "pool %s: the server closes connections idle for %s s (wait_timeout), but idle "
            "pooled connections are pinged or closed %s. Set OPTIONS['pool']['keepalive_time'] "
            "(or idle_timeout) below the server's wait_timeout; connections it drops are "
            "otherwise found at checkout and replaced.",
            pool.name,
            wait_timeout,
            "never" if limit is None else "only after %s s" % limit,
        )

    def housekeep(self) -> bool:
        """One round over the idle connections, then the floor; False (the job stops) once the
        pool is closed or holds nothing."""
        pool = self._pool
        if pool.closed or pool.inherited:
            self.scheduled = False
            return False
        options = pool.options
        now = pool.clock()
        idle = pool.idle
        for record in list(idle):
            if not idle.remove(record):
                continue  # checked out meanwhile
            self._look_after(record, now, options)
        self.open_floor()
        keep = pool.places() > 0 or options.min_idle > 0
        if not keep:
            self.scheduled = False
        return keep

    def _look_after(self, record: Any, now: float, options: PoolOptions) -> None:
        # One idle record, out of the idle queue: close it, ping it, or put it back.
        pool = self._pool
        info = record.info
        connection = record.dbapi_connection
        if connection is None:
            pool.give_up_place()  # a place without a connection: the floor reopens one
            return
        if peer_has_spoken(info.get("probe")):
            # Dropped by the server while idle: found here instead of by the next checkout.
            pool.close_record(record, GivenUp("dropped by the server while idle"), True)
            return
        idle_for = now - info.get("idle_since", now)
        cause = None
        if now >= info.get("retire_at", _NEVER):
            cause = "closed_lifetime"
        elif (
            options.idle_timeout is not None
            and idle_for > options.idle_timeout
            and pool.open_count() > options.min_idle
        ):
            cause = "closed_idle"
        if cause is not None:
            pool.count(cause)
            logger.debug("pool %s: close idle connection (%s)", pool.name, cause)
            pool.close_record(record, None, True)
            return
        quiet_for = now - max(info.get("idle_since", now), info.get("pinged_at", 0.0))
        if options.keepalive_time is not None and quiet_for > options.keepalive_time:
            pool.count("keepalive_pings")
            try:
                alive = pool.ping(connection)
            except BaseException as exc:
                pool.invalidate(record, exc)  # interrupted: the ping's answer is unread
                raise
            if not alive:
                pool.close_record(record, GivenUp("did not answer the keepalive ping"), True)
                return
            # Not idle_since: a ping keeps the connection alive, not busy.
            info["pinged_at"] = now
        pool.idle.put_back(record)

    def open_floor(self) -> None:
        """Open connections until min_idle are open (not while the server refuses them)."""
        pool = self._pool
        while (
            not pool.closed
            and not pool.backoff.refusing
            and pool.open_count() < pool.options.min_idle
        ):
            try:
                record = pool.open_record()
            except Exception as exc:
                if error_code(exc) in SERVER_FULL_CODES:
                    pool.backoff.refused(exc, pool.clock())
                logger.info("pool %s: could not open an idle connection (%s)", pool.name, exc)
                return
            if record is None:
                return  # no free place
            record.info.pop("fresh", None)
            pool.checkin(record)

    def warm_up(self) -> int:
        """Open connections up to min_idle now (e.g. in a Gunicorn post_fork hook); returns how
        many are open. A server refusing connections for capacity ends the warm-up early, and
        the housekeeper tries again later with the pool's backoff."""
        self.schedule()
        self.open_floor()
        return self._pool.open_count()
