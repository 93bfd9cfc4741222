"""One pool per key per process: lookup, closing, and what fork() and exit do. Knows nothing of
Django.

A forked child (a Gunicorn or Celery prefork worker) must never use, or even close, the parent's
connections: closing would send COM_QUIT on sockets the parent still uses. So the child forgets
the parent's pools (and builds its own on first use), and each inherited socket descriptor is
pointed at /dev/null, so that whatever the child does with the inherited objects (garbage
collection, interpreter exit) cannot write to the parent's connections.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable, Hashable
from typing import Any

from .pool import ConnectionPool

logger = logging.getLogger("django_pooled_mysql")

_registry: dict[Hashable, ConnectionPool] = {}
_registry_lock = threading.Lock()


def get_pool(key: Hashable, factory: Callable[[], ConnectionPool]) -> ConnectionPool:
    """The pool for key in this process, created by factory on first use."""
    pool = _registry.get(key)
    if pool is None:
        with _registry_lock:
            pool = _registry.get(key)
            if pool is None:
                pool = _registry[key] = factory()
    return pool


def pools() -> list[ConnectionPool]:
    """Every pool of this process."""
    with _registry_lock:
        return list(_registry.values())


def items() -> list[tuple[Hashable, ConnectionPool]]:
    """Every pool of this process with its key (for monitoring: stats.py)."""
    with _registry_lock:
        return list(_registry.items())


def close_pools(match: Callable[[Hashable], bool] = lambda key: True) -> int:
    """Close and forget the pools whose key matches; returns how many were closed."""
    with _registry_lock:
        keys = [key for key in _registry if match(key)]
        closing = [_registry.pop(key) for key in keys]
    for pool in closing:
        pool.close()
    return len(closing)


def _forget_pools_in_child() -> None:
    # Runs in the child right after fork(): see the module docstring.
    global _registry_lock
    _registry_lock = threading.Lock()
    inherited = list(_registry.values())
    _registry.clear()
    if not inherited:
        return
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        for pool in inherited:
            pool.closed = pool.inherited = True
            for fd in pool.fds:
                try:
                    os.dup2(devnull, fd)
                except OSError:
                    pass
    finally:
        os.close(devnull)


def _close_at_exit() -> None:
    # A clean COM_QUIT per connection at interpreter exit (Gunicorn worker exit included), so the
    # server does not count aborted clients.
    with _registry_lock:
        closing = list(_registry.values())
        _registry.clear()
    for pool in closing:
        try:
            pool.close()
        except Exception:
            logger.debug("pool %s: close at exit failed", pool.name, exc_info=True)


os.register_at_fork(after_in_child=_forget_pools_in_child)
atexit.register(_close_at_exit)


def alias_of(key: Hashable, pool: ConnectionPool) -> str:
    """The Django alias a registry key belongs to (base.py puts it first)."""
    if isinstance(key, tuple) and key and isinstance(key[0], str):
        return key[0]
    return pool.name


def process_stats() -> list[tuple[str, ConnectionPool, dict[str, Any]]]:
    """(alias, pool, stats) for every pool of this process."""
    return [(alias_of(key, pool), pool, pool.stats()) for key, pool in items()]
