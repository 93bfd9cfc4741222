"""Test database creation: close the pool before the test database is dropped."""

from __future__ import annotations

from django.db.backends.mysql.creation import DatabaseCreation as MySQLDatabaseCreation


class DatabaseCreation(MySQLDatabaseCreation):
    """Django's MySQL creation, plus closing pooled connections to the test database."""

    def _destroy_test_db(self, test_database_name: str, verbosity: int) -> None:
        # Pooled connections to the test database would otherwise stay open after the database
        # is gone (and keep the server's connection count up between test runs).
        close_pool = getattr(self.connection, "close_pool", None)
        if close_pool is not None:
            close_pool()
        super()._destroy_test_db(test_database_name, verbosity)
