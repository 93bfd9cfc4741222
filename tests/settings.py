"""Django settings for the test suite: two aliases on the test server named by the environment."""

from __future__ import annotations

import os
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from tests import driver  # noqa: F401  (must run before anything imports MySQLdb)
from tests.support.mariadb_server import URL_ENV, parse_url


def server_from_url(url: str) -> dict[str, str]:
    """HOST/PORT/USER/PASSWORD settings from ``mysql://user:password@host:port/``."""
    try:
        return parse_url(url)
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None


MISSING_SERVER = (
    "%s is not set. Run the suite with `make test` (which starts a throwaway MariaDB), "
    "or set it to a server the tests may use, e.g. mysql://root@127.0.0.1:3306/" % URL_ENV
)
# Without a server only tests/unit can run; tests/conftest.py fails every other test with
# MISSING_SERVER (a missing database is a failure, never a skip).
SERVER_CONFIGURED = bool(os.environ.get(URL_ENV))
SERVER = server_from_url(os.environ.get(URL_ENV) or "mysql://root@unset.invalid:3306/")
ENGINE = os.environ.get("DJANGO_POOLED_MYSQL_TEST_ENGINE", "django_pooled_mysql")


def admin_connect() -> Any:
    """A raw, unpooled, autocommit connection to the test server."""
    import MySQLdb

    return MySQLdb.connect(
        host=SERVER["HOST"],
        port=int(SERVER["PORT"]),
        user=SERVER["USER"],
        password=SERVER["PASSWORD"],
        autocommit=True,
    )


def pooled_database(
    name: str, pool: Any, driver_options: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """database() with this ENGINE and the given pool (and driver) options, for scripts that
    configure Django themselves (benchmarks, child processes)."""
    options = {**(driver_options or {}), "pool": pool}
    return database(name, ENGINE="django_pooled_mysql", OPTIONS=options, **extra)


def database(name: str, **extra: object) -> dict[str, object]:
    """One DATABASES entry on the test server."""
    return {
        "ENGINE": ENGINE,
        "NAME": name,
        **SERVER,
        "OPTIONS": {
            # A leaked lock must fail a test, not hang it for the server's default (a day).
            "init_command": "SET SESSION lock_wait_timeout = 5",
            # FIFO (not the default LIFO): with two idle connections, consecutive unpinned
            # statements alternate between them, so a missing pin shows up in tests.
            "pool": {"use_lifo": False},
        },
        "TEST": {"CHARSET": "utf8mb4"},
        **extra,
    }


# A nested run (the PyMySQL pass) needs test database names of its own.
PREFIX = os.environ.get("DJANGO_POOLED_MYSQL_TEST_DB_PREFIX", "pooled")
DATABASES = {
    "default": database(PREFIX + "_default"),
    "other": database(PREFIX + "_other"),
    # The stock backend on the default test database, for side-by-side checks.
    "stock": {
        **database(PREFIX + "_default"),
        "ENGINE": "django.db.backends.mysql",
        "OPTIONS": {"init_command": "SET SESSION lock_wait_timeout = 5"},
        "TEST": {"MIRROR": "default"},
    },
}

INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "tests.testapp"]
SECRET_KEY = "tests-only"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
