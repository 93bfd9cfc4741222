"""One process's physical connections for one set of connection parameters: the SQLAlchemy
``Pool`` subclass (pool.py) and the objects it delegates to. Knows nothing of Django."""

from .pool import ConnectionPool, Lease, Watchers

__all__ = ["ConnectionPool", "Lease", "Watchers"]
