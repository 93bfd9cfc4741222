"""The slow checkout: waiting for a connection to come back, and waiting out the server's
connection limit; the messages that say what to change when the wait ends in PoolTimeout.

A checkout waits here only when no connection is idle and no place is free, or when the server
refused a connect for capacity (backoff.py): then one caller at a time tries the server again
after the shared backoff, and the others take the first connection handed back. A checkout that
waited longer than ``checkout_warning_after`` is logged, at most once per pool every 10 s (a
starved pool would otherwise log a line per waiter), with how many more there were.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from ..driver.errors import error_code
from .backoff import SERVER_FULL_CODES

if TYPE_CHECKING:
    from .pool import ConnectionPool

logger = logging.getLogger("django_pooled_mysql")

# At most one slow-checkout WARNING per pool this often (the next line says how many more).
_SLOW_CHECKOUT_REPORT_EVERY = 10.0


class Waits:
    """One pool's slow checkouts (see the module docstring)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._lock = threading.Lock()
        # When the next slow-checkout WARNING may be logged, and how many were left out since.
        self._slow_checkout_next = 0.0
        self._slow_checkouts_unreported = 0

    def despite_server_limit(self, refusal: Exception) -> tuple[Any, Any]:
        pool = self._pool
        deadline = pool.clock() + pool.options.timeout
        pool._connecting.deadline = deadline  # the connects below share this caller's deadline
        try:
            return self._keep_trying(refusal, deadline)
        finally:
            pool._connecting.deadline = None

    def _keep_trying(self, refusal: Exception, deadline: float) -> tuple[Any, Any]:
        pool = self._pool
        started = deadline - pool.options.timeout
        while True:
            if pool.closed:
                pool._raise_closed()
            now = pool.clock()
            remaining = deadline - now
            if remaining <= 0:
                pool.count("timeouts")
                from ..exceptions import PoolTimeout

                raise PoolTimeout(self.server_full_message(refusal)) from refusal
            # Handed a connection when another holder returns one; otherwise woken at the time
            # the pool's shared backoff allows the next connect attempt.
            record = pool.idle.wait(min(max(pool.backoff.wait(now), 0.001), remaining))
            probing = False
            if record is None:
                # Nothing came back: one waiter, once the backoff has passed, may try the server.
                if pool.backoff.wait(pool.clock()) > 0:
                    continue
                probing = pool.backoff.attempt.acquire(blocking=False)
                if not probing:
                    continue
            try:
                if record is not None:
                    # A returned place may have no connection (it was invalidated): reconnecting
                    # it can be refused too.
                    checked_out = record, pool.checked_connection(record)
                else:
                    checked_out = pool._checkout_record()
            except Exception as exc:
                if error_code(exc) not in SERVER_FULL_CODES:
                    raise
                refusal = exc
                pool._note_refusal(exc)
                continue
            finally:
                if probing:
                    pool.backoff.attempt.release()
            limit = pool.options.checkout_warning_after
            waited = pool.clock() - started
            if limit is not None and waited > limit:
                self.warn_slow_checkout(
                    waited,
                    "while the server refused new connections (%s)" % refusal,
                    "The pools of all processes add up to more than the server's "
                    "max_connections or the account's max_user_connections allow: lower "
                    "OPTIONS['pool']['pool_size'] + ['max_overflow'] or raise the server's limit "
                    "(manage.py pool_budget shows the sum).",
                )
            return checked_out

    def for_record(self) -> Any:
        pool = self._pool
        pool.count("wait_count")
        started = pool.clock()
        try:
            record = pool.idle.wait(pool.options.timeout)
        finally:
            waited = pool.clock() - started
            pool.counters.waited(waited)
        if record is not None:
            limit = pool.options.checkout_warning_after
            if limit is not None and waited > limit:
                self.warn_slow_checkout(
                    waited,
                    "for a connection to come back",
                    "Raise OPTIONS['pool']['pool_size'] or ['max_overflow'] (within the server's "
                    "max_connections), or hold connections for less time (each open transaction "
                    "keeps one).",
                )
            return record
        if pool.closed:
            pool._raise_closed()
        pool.count("timeouts")
        from ..exceptions import PoolTimeout

        raise PoolTimeout(self.exhausted_message())

    def warn_slow_checkout(self, waited: float, why: str, advice: str) -> None:
        """Log a WARNING for a checkout that waited longer than ``checkout_warning_after``."""
        pool = self._pool
        now = pool.clock()
        with self._lock:
            if now < self._slow_checkout_next:
                self._slow_checkouts_unreported += 1
                return
            self._slow_checkout_next = now + _SLOW_CHECKOUT_REPORT_EVERY
            more, self._slow_checkouts_unreported = self._slow_checkouts_unreported, 0
        stats = pool.stats()
        logger.warning(
            "pool %s: checkout waited %.2f s %s (checkout_warning_after=%s; in use %d of %d, "
            "waiting %d%s). %s",
            pool.name,
            waited,
            why,
            pool.options.checkout_warning_after,
            stats["in_use"],
            stats["max_open"],
            stats["waiting"],
            "; %d more such checkouts since the previous warning" % more if more else "",
            advice,
        )

    def server_full_message(self, refusal: Exception) -> str:
        """Why a connect kept failing on the server's connection limit, and what to change."""
        pool = self._pool
        limits = ", ".join(
            "%s=%s" % (name, pool.facts[name])
            for name in ("max_connections", "max_user_connections")
            if name in pool.facts
        )
        return (
            "Connection pool %s could not get a connection within %.1f s: the server refused "
            "new connections (%s)%s while this process held %d. Raise the server's "
            "max_connections (or the account's max_user_connections), or lower "
            "OPTIONS['pool']['pool_size'] + ['max_overflow'] so that processes x that sum fits "
            "under the server's limit."
            % (
                pool.name,
                pool.options.timeout,
                refusal,
                "; server limits: %s" % limits if limits else "",
                pool.open_count(),
            )
        )

    def exhausted_message(self) -> str:
        """Why a checkout timed out, with the numbers and the settings to change."""
        pool = self._pool
        stats = pool.stats()
        return (
            "Connection pool %s is exhausted: no connection was returned within %.1f s "
            "(pool_size=%d, max_overflow=%d; in use %d, idle %d, waiting %d). "
            "Raise OPTIONS['pool']['pool_size'] or ['max_overflow'] (and the server's "
            "max_connections to match), raise ['timeout'] to wait longer, or hold connections "
            "for less time (each open transaction keeps one)."
            % (
                pool.name,
                pool.options.timeout,
                stats["pool_size"],
                stats["max_overflow"],
                stats["in_use"],
                stats["idle"],
                stats["waiting"],
            )
        )
