"""The server's connection limit as a capacity signal: the backoff between connect attempts.

``1040 Too many connections``, ``1203`` (the account's ``max_user_connections``) and ``1226`` at
connect say that the server is full, not broken: the pool then waits for one of its own
connections to come back, and lets one caller at a time try the server again, after a shared
backoff (10 ms doubling to 0.5 s; back to 10 ms at the next successful connect), instead of each
caller sending a connect the server will refuse (measured: ~10 refused connects per process
instead of 100-300 for the same load; docs/resilience.md). A value object in the manner of
psycopg_pool's ``AttemptWithBackoff``: it holds the state, the pool's clock is passed in.
"""

from __future__ import annotations

import threading

# The server refused a new connection for capacity: wait for one of ours to come back instead.
SERVER_FULL_CODES = frozenset(
    {
        1040,  # ER_CON_COUNT_ERROR: Too many connections (max_connections)
        1203,  # ER_TOO_MANY_USER_CONNECTIONS: the account's max_user_connections
        1226,  # ER_USER_LIMIT_REACHED: the account's MAX_CONNECTIONS_PER_HOUR and similar
    }
)

_FIRST_DELAY = 0.01
_MAX_DELAY = 0.5


class ServerFullBackoff:
    """The server's last refusal for capacity (until a connect succeeds) and when the next
    connect may be tried; one caller at a time holds the attempt."""

    __slots__ = ("_delay", "attempt", "next_attempt_at", "refusal")

    def __init__(self) -> None:
        self.refusal: Exception | None = None
        self.next_attempt_at = 0.0
        self._delay = _FIRST_DELAY
        # Held by the one caller that tries the server while it refuses (non-blocking acquire).
        self.attempt = threading.Lock()

    @property
    def refusing(self) -> bool:
        """Whether the server refused the last connect for capacity."""
        return self.refusal is not None

    def refused(self, refusal: Exception, now: float) -> None:
        """The server refused a connect: back off for everyone."""
        self.refusal = refusal
        self.next_attempt_at = now + self._delay
        self._delay = min(self._delay * 2, _MAX_DELAY)

    def connected(self) -> None:
        """A connect succeeded: the server has room again."""
        self.refusal = None
        self._delay = _FIRST_DELAY

    def wait(self, now: float) -> float:
        """Seconds until the next connect may be tried (0: now)."""
        return max(self.next_attempt_at - now, 0.0)
