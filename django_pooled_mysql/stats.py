"""The keys of ``pool_stats()``: counters or gauges, and what each one is; every pool of this
process by alias. Knows nothing of Django.

docs/reference.md is the readers' version of this table and the Prometheus exporter
(prometheus.py) its user; tests/unit/test_operations.py keeps the three in step.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from . import registry
from .pool import COUNTERS, ConnectionPool

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


def kind(key: str) -> str:
    """COUNTER or GAUGE for a stats key (a key not described here yet: by pool.COUNTERS)."""
    described = KEYS.get(key)
    if described is not None:
        return described[0]
    return COUNTER if key in COUNTERS else GAUGE


def help_text(key: str) -> str:
    """What a stats key is, in one line."""
    described = KEYS.get(key)
    return described[1] if described is not None else "pool_stats()[%r]" % key


def alias_of(key: Hashable, pool: ConnectionPool) -> str:
    """The Django alias a registry key belongs to (base.py puts it first)."""
    if isinstance(key, tuple) and key and isinstance(key[0], str):
        return key[0]
    return pool.name


def process_stats() -> list[tuple[str, ConnectionPool, dict[str, Any]]]:
    """(alias, pool, stats) for every pool of this process."""
    return [(alias_of(key, pool), pool, pool.stats()) for key, pool in registry.items()]
