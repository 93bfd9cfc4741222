"""Who holds a process's pooled connections now: the answer to "too small, or a leak?".

``report()`` takes a snapshot of the process's pools: for each, the gauges of ``pool_stats()``
and one entry per pinned lease (its holder thread or greenlet, kind and reason, age, where it was
taken, and the stack when ``leak_warning_after`` records one), oldest first. Statement leases
last one statement, so they are counted (in use less pinned), not listed. ``log()`` writes it to
the package's logger; ``log_on_signal()`` does that whenever the process receives a signal, for a
look inside a running Gunicorn worker (docs/monitoring.md).

A snapshot takes the counters' lock, so it never runs inside a signal handler, which may have
interrupted the very code holding that lock: the handler only hands the work to the housekeeper
(housekeeping.py). Knows nothing of Django.
"""

from __future__ import annotations

import logging
import os
import signal
from functools import partial
from typing import TYPE_CHECKING, Any

from . import housekeeping, registry
from .pins import statement_text, where

if TYPE_CHECKING:
    from .pool import ConnectionPool

logger = logging.getLogger("django_pooled_mysql")

# The gauges of pool_stats() a report carries.
GAUGES = ("max_open", "open", "in_use", "idle", "waiting", "cancelling")


def pool_report(pool: ConnectionPool, alias: str) -> dict[str, Any]:
    """One pool's holders now (see the module docstring; keys in docs/reference.md)."""
    leases = pool.pinned.leases()
    stats = pool.stats()
    now = pool.clock()
    pinned = [
        {
            "kind": lease.kind,
            "reason": lease.reason,
            "age": now - lease.taken_at,
            "holder": lease.holder,
            "holder_id": lease.holder_id,
            "site": where(lease.site) if lease.site is not None else None,
            "statement": statement_text(lease.statement),
            "stack": lease.stack,
        }
        for lease in sorted(leases, key=lambda lease: lease.taken_at)
        if lease.connection is not None
    ]
    return {
        "alias": alias,
        "pool": pool.name,
        "pid": os.getpid(),
        **{key: stats[key] for key in GAUGES},
        "statement_leases": max(stats["in_use"] - len(pinned), 0),
        "pinned": pinned,
    }


def report(alias: str | None = None) -> list[dict[str, Any]]:
    """Every pool of this process (serving ``alias``, if given): pool_report() of each."""
    entries = []
    for key, pool in registry.items():
        name = registry.alias_of(key, pool)
        if alias is None or name == alias:
            entries.append(pool_report(pool, name))
    return entries


def summary(entry: dict[str, Any]) -> str:
    """One pool_report() as text: a line of figures, then a line per pinned lease."""
    lines = [
        "holders in process %d: %d of %d connections in use (%d pinned, %d by a statement), "
        "%d idle, %d waiting, %d cancelling"
        % (
            entry["pid"],
            entry["in_use"],
            entry["max_open"],
            len(entry["pinned"]),
            entry["statement_leases"],
            entry["idle"],
            entry["waiting"],
            entry["cancelling"],
        )
    ]
    for lease in entry["pinned"]:
        line = "  %.1f s %s (%s), %s [%d]" % (
            lease["age"],
            lease["kind"],
            lease["reason"],
            lease["holder"],
            lease["holder_id"],
        )
        if lease["site"]:
            line += ", from %s" % lease["site"]
        if lease["statement"]:
            line += ": %s" % lease["statement"]
        lines.append(line)
        if lease["stack"]:
            lines.append("    taken at:\n" + lease["stack"].rstrip("\n"))
    return "\n".join(lines)


def log(alias: str | None = None) -> None:
    """Log report() at WARNING on the package's logger, one message per pool."""
    entries = report(alias)
    if not entries:
        logger.warning("holders in process %d: no pool%s", os.getpid(), _for(alias))
    for entry in entries:
        logger.warning("pool %s: %s", entry["pool"], summary(entry))


def log_on_signal(signum: int, alias: str | None = None) -> Any:
    """Call log(alias) whenever this process receives ``signum``; returns the previous handler.

    Python runs the handler in the main thread between two bytecodes, which may be inside code
    holding a lock log() needs, so the handler only hands log() to the housekeeper (started
    now). The main thread must reach a bytecode for the handler to run: a sync worker blocked
    in a statement logs when the statement returns.
    """
    housekeeping.housekeeper()
    job = partial(log, alias)

    def handler(signum: int, frame: Any) -> None:
        housekeeping.housekeeper().submit(job)

    return signal.signal(signum, handler)


def _for(alias: str | None) -> str:
    return "" if alias is None else " for alias %r" % alias
