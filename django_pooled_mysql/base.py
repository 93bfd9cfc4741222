"""The ENGINE's DatabaseWrapper: the only place Django meets the pool."""

from __future__ import annotations

import hashlib
import weakref
from functools import partial
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS
from django.db.backends.base.base import NO_DB_ALIAS, BaseDatabaseWrapper
from django.db.backends.mysql import base as mysql_base
from django.db.backends.mysql.creation import DatabaseCreation as MySQLDatabaseCreation
from django.db.backends.mysql.validation import DatabaseValidation as MySQLDatabaseValidation
from django.utils.functional import cached_property

from .driver.connect import SessionSetup
from .lease.connection import PooledConnection
from .lease.ownership import current_owner
from .pool import ConnectionPool, registry
from .pool.options import PoolOptions, check_conn_max_age, parse_pool_option

Database = mysql_base.Database


def _fingerprint(params: dict[str, Any]) -> tuple[Any, ...]:
    items = []
    for key, value in sorted(params.items()):
        if key == "password":
            # Part of the identity of a pool, never of its name, a log line or a repr.
            value = hashlib.sha256(str(value).encode()).hexdigest()
        elif not isinstance(value, (str, int, float, bool, type(None))):
            value = "%s@%x" % (type(value).__name__, id(value))
        items.append((key, value))
    return tuple(items)


def _is_shared(wrapper: weakref.ref[Any]) -> bool:
    django_connection = wrapper()
    return django_connection is not None and django_connection.allow_thread_sharing


def _pool_name(alias: str, params: dict[str, Any]) -> str:
    where = params.get("unix_socket") or "%s:%s" % (
        params.get("host", "localhost"),
        params.get("port", 3306),
    )
    return "'%s' (%s@%s/%s)" % (alias, params.get("user", ""), where, params.get("database", ""))


class DatabaseCreation(MySQLDatabaseCreation):
    """Django's MySQL test-database creation, plus closing the pool before the database goes."""

    def _destroy_test_db(self, test_database_name: str, verbosity: int) -> None:
        # Pooled connections to the test database would otherwise stay open after the database
        # is gone (and keep the server's connection count up between test runs).
        close_pool = getattr(self.connection, "close_pool", None)
        if close_pool is not None:
            close_pool()
        super()._destroy_test_db(test_database_name, verbosity)


class DatabaseValidation(MySQLDatabaseValidation):
    """Django's MySQL validation plus this ENGINE's checks (checks.py).

    Django runs it for the aliases given to ``manage.py check --database`` (and ``migrate``),
    as it does for its MySQL backend's ``mysql.W002``: so the checks work for a site that only
    sets ``ENGINE``.
    """

    def check(self, **kwargs: Any) -> list[Any]:
        """This alias's settings checks, Django's MySQL checks, then the server's."""
        from .checks import backend_check

        return backend_check(self.connection, partial(super().check, **kwargs))


class DatabaseWrapper(mysql_base.DatabaseWrapper):
    """Django's MySQL DatabaseWrapper whose ``connection`` leases from a per-process pool."""

    creation_class = DatabaseCreation
    validation_class = DatabaseValidation

    def __init__(self, settings_dict: dict[str, Any], alias: str = DEFAULT_DB_ALIAS) -> None:
        super().__init__(settings_dict, alias)
        self.pool_options: PoolOptions | None = None
        # Why the settings cannot work, raised at first use. Not raised here: Django builds this
        # object for `manage.py check --database`, whose system checks (checks.py) report the
        # mistake with an ID and a hint instead of crashing on it.
        self.settings_error: str | None = None
        try:
            if alias != NO_DB_ALIAS:
                # Test-database creation and removal connect without a database (NO_DB_ALIAS);
                # those short-lived connections use the stock path rather than a pool of their
                # own.
                options = settings_dict.get("OPTIONS") or {}
                self.pool_options = parse_pool_option(alias, options.get("pool", True))
            if self.pool_options is not None:
                check_conn_max_age(alias, settings_dict.get("CONN_MAX_AGE", 0))
        except ImproperlyConfigured as exc:
            self.pool_options = None
            self.settings_error = str(exc)
        if self.pool_options is not None:
            # Django keeps this object in the creating thread's (greenlet's) local storage: a
            # lease it pins is recovered when that thread ends (lease/ownership.py). A weak
            # reference, so that this object, which lives on in reference cycles, does not keep
            # it.
            self._pool_owner = weakref.ref(current_owner())

    def check_pool_settings(self) -> None:
        """Raise ImproperlyConfigured if this alias's pool settings cannot work."""
        if self.settings_error is not None:
            # A new exception each time: re-raising one instance would grow its traceback.
            raise ImproperlyConfigured(self.settings_error)

    @property
    def pooled(self) -> bool:
        """Whether this alias leases from a pool (``OPTIONS["pool"]`` not False)."""
        if self.settings_error is not None:
            self.check_pool_settings()
        return self.pool_options is not None

    @property
    def pool(self) -> ConnectionPool | None:
        """This process's pool for this alias, or None without pooling (as in Django's
        PostgreSQL backend)."""
        return self.get_pool() if self.pooled else None

    # -- connecting -----------------------------------------------------------------------

    def get_connection_params(self) -> dict[str, Any]:
        """Django's parameters for MySQLdb.connect(), without the pool settings."""
        self.check_pool_settings()
        params = super().get_connection_params()
        params.pop("pool", None)
        return params

    def get_pool(self, params: dict[str, Any] | None = None) -> ConnectionPool:
        """This process's pool for the current settings (created on first use)."""
        self.check_pool_settings()
        params = dict(self.get_connection_params() if params is None else params)
        if "autocommit" not in params:
            # Pooled connections are idle in autocommit mode; asking at connect time saves the
            # separate SET autocommit round trip.
            params["autocommit"] = True
        key = (self.alias, _fingerprint(params), self.isolation_level, self.pool_options)
        options = self.pool_options
        assert options is not None

        def build() -> ConnectionPool:
            setup = SessionSetup(Database, params, self.isolation_level, {}, options.cooperative)
            pool = ConnectionPool(
                _pool_name(self.alias, params), setup.open, options, reset_session=setup.reset
            )
            pool.facts = setup.facts
            return pool

        return registry.get_pool(key, build)

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        """A PooledConnection (no socket yet), or a real connection when pooling is off."""
        if not self.pooled:
            return super().get_new_connection(conn_params)
        pool = self.get_pool(conn_params)
        if not pool.facts:
            # A pool that never connected: connect now, so that wrong credentials or an
            # unreachable server fail in connect() as with the stock backend, rather than
            # leaving a Django connection bound to parameters that cannot work.
            pool.touch()
        wrapper = weakref.ref(self)
        # The parameters are fixed for this connection's life, as for a stock connection.
        return PooledConnection(
            partial(self.get_pool, conn_params),
            self._pool_owner,
            lambda: _is_shared(wrapper),
        )

    def init_connection_state(self) -> None:
        """Per-connection SET statements run once per physical connection, in the pool."""
        if not self.pooled:
            return super().init_connection_state()
        # Keep only the base class's once-per-alias server version check.
        BaseDatabaseWrapper.init_connection_state(self)

    def is_usable(self) -> bool:
        """Usable unless closed, without a round trip: the pool checks physical connections."""
        if not self.pooled:
            return super().is_usable()
        return self.connection is not None and not self.connection.closed

    @cached_property
    def mysql_server_data(self) -> dict[str, Any]:
        """Server facts, read once per pool instead of once per Django connection."""
        if not self.pooled:
            return mysql_base.DatabaseWrapper.mysql_server_data.func(self)
        pool = self.get_pool()
        if not pool.facts:
            with self.wrap_database_errors:
                # The first physical connection of a pool reads the facts.
                pool.touch()
        return pool.facts

    # -- pool management --------------------------------------------------------------

    def pool_stats(self) -> dict[str, Any]:
        """Counters of this alias's pool in this process."""
        if not self.pooled:
            raise ValueError(
                "DATABASES[%r] does not use a pool (OPTIONS['pool'] is False)." % self.alias
            )
        return self.get_pool().stats()

    def close_pool(self) -> int:
        """Close this alias's pools in this process (idle connections now, others on return)."""
        self.close()
        alias = self.alias
        return registry.close_pools(lambda key: key[0] == alias)  # type: ignore[index]
