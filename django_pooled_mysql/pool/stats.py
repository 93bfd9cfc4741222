"""The figures of ``pool_stats()``: one table of their names, counters or gauges and what each
one is, and the counters a pool keeps. Gauges are computed when asked (pool.py); two counters are
kept by kind of pin, as a dict each (``BY_KIND``). Knows nothing of Django.

docs/reference.md is the readers' version of this table and the Prometheus exporter
(prometheus/) its user; tests/unit/test_operations_docs.py keeps the three in step.
"""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .pool import ConnectionPool

COUNTER = "counter"
GAUGE = "gauge"

# key -> (kind, one line for Prometheus' HELP). Counters count since the pool was created;
# gauges are now.
KEYS: dict[str, tuple[str, str]] = {
    "pool_size": (GAUGE, "Connections kept open while idle (OPTIONS['pool']['pool_size'])."),
    "max_overflow": (GAUGE, "Connections allowed beyond pool_size (OPTIONS['pool'])."),
    "max_open": (GAUGE, "pool_size + max_overflow: the most connections a process opens."),
    "open": (GAUGE, "Physical connections open now."),
    "in_use": (GAUGE, "Connections checked out now (statement, transaction, session leases)."),
    "idle": (GAUGE, "Open connections waiting in the pool."),
    "overflow": (GAUGE, "Connections open beyond pool_size."),
    "waiting": (GAUGE, "Callers waiting for a connection now."),
    "requests": (COUNTER, "Checkouts: statement leases and pins."),
    "wait_count": (COUNTER, "Checkouts that had to wait (all connections in use)."),
    "wait_seconds": (COUNTER, "Time spent in those waits, in seconds."),
    "timeouts": (COUNTER, "Waits that ended in PoolTimeout."),
    "connects": (COUNTER, "Physical connections opened."),
    "connect_errors": (COUNTER, "Connects that failed (refusals for capacity included)."),
    "closes": (COUNTER, "Physical connections closed, for any reason."),
    "invalidations": (COUNTER, "Connections closed because they broke, were dropped or dirty."),
    "min_idle": (GAUGE, "The floor of open connections (OPTIONS['pool']['min_idle'])."),
    "closed_idle": (COUNTER, "Connections the housekeeper closed after idle_timeout."),
    "closed_lifetime": (COUNTER, "Connections closed at the end of their lifetime."),
    "closed_overflow": (COUNTER, "Connections closed as they came back, pool_size being idle."),
    "keepalive_pings": (COUNTER, "Pings of connections idle longer than keepalive_time."),
    "session_pins": (COUNTER, "Django connections that pinned a connection for session state."),
    "variable_replays": (
        COUNTER,
        "SET statements that gave a leased connection its Django connection's session variables.",
    ),
    "pins": (COUNTER, "Connections pinned beyond a statement, by kind of pin (pins.py)."),
    "pinned_seconds": (COUNTER, "Seconds connections were pinned, by kind, counted as pins end."),
    "resets": (COUNTER, "Sessions reset before reuse (session state, unfinished transaction)."),
    "reset_reconnects": (COUNTER, "Resets done by closing the connection and reconnecting."),
    "server_refusals": (COUNTER, "Connects the server refused for capacity (1040, 1203, 1226)."),
    "leak_warnings": (COUNTER, "Leases reported as held longer than leak_warning_after."),
    "abandoned": (COUNTER, "Pinned leases recovered after their thread or greenlet ended."),
    "cancelling": (
        GAUGE,
        "Places whose connection was given up mid-command, until its session ends.",
    ),
    "cancels": (COUNTER, "Sessions of interrupted commands cancelled on the server (KILL)."),
}


# Counters kept per kind of pin: their value is a dict {kind: number}, exported with a "kind" label.
BY_KIND = ("pins", "pinned_seconds")


def kind(key: str) -> str:
    """COUNTER or GAUGE for a stats key."""
    return KEYS[key][0]


def help_text(key: str) -> str:
    """What a stats key is, in one line."""
    described = KEYS.get(key)
    return described[1] if described is not None else "pool_stats()[%r]" % key


# The counters a pool keeps itself ("requests", "wait_seconds" and BY_KIND have their own ways,
# below).
COUNTED = tuple(
    key
    for key, (key_kind, _) in KEYS.items()
    if key_kind == COUNTER and key not in ("requests", "wait_seconds", *BY_KIND)
)


class Counters:
    """One pool's counters since it was created."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(COUNTED, 0)
        self._wait_seconds = 0.0
        self._pins: dict[str, int] = {}
        self._pinned_seconds: dict[str, float] = {}
        # Checkouts, counted without a lock on the hot path (next() on a count is atomic).
        self.requests = itertools.count()

    def count(self, key: str, n: int = 1) -> None:
        """Add n to one counter."""
        with self._lock:
            self._counts[key] += n

    def waited(self, seconds: float) -> None:
        """Add a checkout's wait for a connection."""
        with self._lock:
            self._wait_seconds += seconds

    def pinned(self, kind: str) -> None:
        """Count a pin of one kind (a lease pinned, or pinned for a new kind: pinned.py)."""
        with self._lock:
            self._pins[kind] = self._pins.get(kind, 0) + 1

    def unpinned(self, kind: str, seconds: float) -> None:
        """Add the time a lease was pinned for one kind."""
        with self._lock:
            self._pinned_seconds[kind] = self._pinned_seconds.get(kind, 0.0) + seconds

    def opened(self) -> int:
        """Physical connections open now (connects less closes)."""
        with self._lock:
            return self._counts["connects"] - self._counts["closes"]

    def snapshot(self) -> dict[str, Any]:
        """Every counter now."""
        with self._lock:
            counts: dict[str, Any] = dict(self._counts)
            counts["wait_seconds"] = self._wait_seconds
            counts["pins"] = dict(self._pins)
            counts["pinned_seconds"] = dict(self._pinned_seconds)
        # The next number a count will give, i.e. how many it gave: its repr is "count(n)".
        counts["requests"] = int(repr(self.requests)[6:-1])
        return counts


def snapshot(pool: ConnectionPool) -> dict[str, Any]:
    """A pool's counters and its gauges now (every key of KEYS)."""
    counts = pool.counters.snapshot()
    places = pool.places()
    cancelling = pool.cancelling()
    in_use = max(places - len(pool.idle) - cancelling, 0)
    open_ = counts["connects"] - counts["closes"]
    options = pool.options
    return {
        "pool_size": options.pool_size,
        "max_overflow": options.max_overflow,
        "max_open": options.max_connections,
        "min_idle": options.min_idle,
        "open": open_,
        "in_use": in_use,
        "idle": max(open_ - in_use - cancelling, 0),
        "overflow": max(places - options.pool_size, 0),
        "waiting": pool.idle.waiting,
        "cancelling": cancelling,
        **counts,
    }
