"""Errors raised by the pool; they subclass the driver's errors so Django wraps them as usual."""

from __future__ import annotations

# Imported lazily by the package so that ``pymysql.install_as_MySQLdb()`` in settings.py can run
# first: these classes must subclass the same MySQLdb that Django's backend uses.
import MySQLdb


class PoolTimeout(MySQLdb.OperationalError):
    """No pooled connection became free within OPTIONS["pool"]["timeout"] seconds."""


class ConnectionLostInTransaction(MySQLdb.OperationalError):
    """The connection a transaction was pinned to broke; the transaction is gone."""


class CommitInDoubt(ConnectionLostInTransaction):
    """The connection broke while COMMIT was on its way: the server may or may not have
    committed the transaction, so check before running it again."""


class PoolClosed(MySQLdb.OperationalError):
    """The pool was closed (close_pool()) while this Django connection still used it."""
