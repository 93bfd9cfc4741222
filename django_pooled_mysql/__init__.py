"""django-pooled-mysql: a Django MySQL/MariaDB ENGINE with per-statement connection leases.

Import-light: settings.py may import this package before ``pymysql.install_as_MySQLdb()`` has
run, so the driver (and the exceptions subclassing its errors) load only on first use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__version__ = "0.1.0.dev0"
__all__ = [
    "CommitInDoubt",
    "ConnectionLostInTransaction",
    "PoolClosed",
    "PoolTimeout",
    "close_all_pools",
    "close_pool",
    "holders",
    "log_holders",
    "log_holders_on_signal",
    "pinned",
    "pool_stats",
    "warm_up",
]


@contextmanager
def pinned(using: str = "default") -> Iterator[Any]:
    """Keep one physical connection for every statement inside the block (nestable).

    For code that needs the same server session across statements without a transaction.
    Yields Django's connection for ``using``. If the block leaves session state behind (a
    ``SET``, a temporary table, a lock), the pin lasts until the connection is closed at the end
    of the request, as for any statement that leaves session state.
    """
    from django.db import connections

    connection = connections[using]
    if not getattr(connection, "pooled", False):
        # Stock connections keep one session per thread anyway.
        yield connection
        return
    connection.ensure_connection()
    with connection.wrap_database_errors:
        connection.connection.hold()
    try:
        yield connection
    finally:
        if connection.connection is not None:
            connection.connection.unhold()


def pool_stats(alias: str = "default") -> dict[str, Any]:
    """Counters of the pool serving ``alias`` in this process (see docs/reference.md)."""
    from django.db import connections

    return connections[alias].pool_stats()


def holders(alias: str | None = None) -> list[dict[str, Any]]:
    """Who holds the connections of this process's pools now (those serving ``alias``, or all):
    one dict per pool, with its pinned leases, oldest first (see docs/monitoring.md)."""
    from .pool import holders

    return holders.report(alias)


def log_holders(alias: str | None = None) -> None:
    """Log holders() at WARNING on the ``django_pooled_mysql`` logger, one message per pool."""
    from .pool import holders

    holders.log(alias)


def log_holders_on_signal(signum: int, alias: str | None = None) -> Any:
    """Log holders() whenever this process receives ``signum`` (e.g. ``signal.SIGUSR2`` in
    Gunicorn's ``post_worker_init``: docs/monitoring.md); returns the previous handler."""
    from .pool import holders

    return holders.log_on_signal(signum, alias)


def close_pool(alias: str = "default") -> int:
    """Close this process's pools for ``alias``; returns how many were closed."""
    from django.db import connections

    return connections[alias].close_pool()


def warm_up(alias: str = "default") -> int:
    """Open ``min_idle`` connections of the pool serving ``alias`` now (e.g. in Gunicorn's
    ``post_worker_init``); returns how many are open. Does nothing without pooling."""
    from django.db import connections

    pool = connections[alias].pool
    return pool.warm_up() if pool is not None else 0


def close_all_pools() -> int:
    """Close every pool of this process (for shutdown and tests)."""
    from .pool.registry import close_pools

    return close_pools()


def __getattr__(name: str) -> Any:
    if name in ("PoolTimeout", "ConnectionLostInTransaction", "CommitInDoubt", "PoolClosed"):
        from . import exceptions

        return getattr(exceptions, name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
