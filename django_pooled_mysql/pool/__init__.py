"""One process's physical connections for one set of connection parameters: the SQLAlchemy
``Pool`` subclass (pool.py) and the objects it delegates to. Knows nothing of Django."""

from .pinned import Lease, Watchers
from .pool import ConnectionPool

__all__ = ["ConnectionPool", "Lease", "Watchers"]
