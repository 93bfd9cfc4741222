"""Settings for the demo project; the database mode comes from ``DEMO_DB_MODE``.

Environment:

* ``DJANGO_POOLED_MYSQL_TEST_URL``: ``mysql://user:password@host:port/[database]`` (required);
* ``DEMO_DB_MODE``: one of ``MODES`` below (default ``pooled``);
* ``DEMO_DB_NAME``: the database when the URL names none (default ``pooled_demo``);
* ``DEMO_POOL_SIZE``, ``DEMO_MAX_OVERFLOW``, ``DEMO_POOL_TIMEOUT``: this ENGINE's pool settings;
* ``DEMO_PAUSE_MS``: the default upstream pause of the views (milliseconds, default 20);
* ``DEMO_PRODUCTS``: how many products ``manage.py seed`` creates and the views pick from.
"""

from __future__ import annotations

import os
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

URL_ENV = "DJANGO_POOLED_MYSQL_TEST_URL"


class Mode(NamedTuple):
    """One way of connecting: which ENGINE, which CONN_MAX_AGE, which driver."""

    engine: str
    conn_max_age: int
    driver: str
    # Extra OPTIONS["pool"] settings of this ENGINE's modes.
    pool_extra: tuple[tuple[str, object], ...] = ()


STOCK = "django.db.backends.mysql"
POOLED = "django_pooled_mysql"
MODES = {
    # Django's default: a new connection for every request that touches the database.
    "stock-age0": Mode(STOCK, 0, "mysqlclient"),
    # Persistent connections: one per thread, which under gevent means one per greenlet.
    "stock-age60": Mode(STOCK, 60, "mysqlclient"),
    # This ENGINE: per-statement / per-transaction leases from a per-process pool.
    # Under gevent mysqlclient waits for the server on the hub (OPTIONS["pool"]["cooperative"],
    # on by default) ...
    "pooled": Mode(POOLED, 0, "mysqlclient"),
    # ... or blocks the whole worker in C for every statement, as it does without this ENGINE.
    "pooled-blocking": Mode(POOLED, 0, "mysqlclient", (("cooperative", False),)),
    "pooled-pymysql": Mode(POOLED, 0, "pymysql"),
    "stock-pymysql": Mode(STOCK, 0, "pymysql"),
}


def server_from_url(url: str) -> dict[str, str]:
    """HOST/PORT/USER/PASSWORD (and NAME if the URL has a path) from ``mysql://...``."""
    parts = urlsplit(url)
    if parts.scheme not in ("mysql", "mariadb"):
        raise ImproperlyConfigured("%s must look like mysql://user:password@host:port/" % URL_ENV)
    server = {
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or 3306),
        "USER": unquote(parts.username or "root"),
        "PASSWORD": unquote(parts.password or ""),
    }
    name = parts.path.strip("/")
    if name:
        server["NAME"] = unquote(name)
    return server


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise ImproperlyConfigured("%s must be an integer, not %r." % (name, value)) from None


MODE_NAME = os.environ.get("DEMO_DB_MODE", "pooled")
if MODE_NAME not in MODES:
    raise ImproperlyConfigured(
        "DEMO_DB_MODE must be one of %s, not %r." % (", ".join(MODES), MODE_NAME)
    )
MODE = MODES[MODE_NAME]

if MODE.driver == "pymysql":
    import pymysql

    # Django refuses a MySQLdb older than mysqlclient 2.2.1; PyMySQL reports its own version
    # (1.x) under that name, so claim a mysqlclient version it is compatible with.
    pymysql.version_info = (2, 2, 7, "final", 0)
    pymysql.install_as_MySQLdb()

_url = os.environ.get(URL_ENV)
if not _url:
    raise ImproperlyConfigured(
        "%s is not set. `make demo` starts a server and sets it; to use your own server, set it "
        "to e.g. mysql://user:password@127.0.0.1:3306/" % URL_ENV
    )
_server = server_from_url(_url)

_options: dict[str, object] = {}
if MODE.driver == "pymysql":
    # PyMySQL 1.2 builds a TLS context on every connect unless told not to (~20 ms of CPU), even
    # against a server without TLS such as the demo's: that would measure PyMySQL, not pooling.
    _options["ssl_disabled"] = True
if MODE.engine == POOLED:
    # 2 workers x (10 + 10) = 40 connections at most: under the demo server's max_connections=60
    # with room for migrations, monitoring and an operator's shell.
    _options["pool"] = {
        "pool_size": _int_env("DEMO_POOL_SIZE", 10),
        "max_overflow": _int_env("DEMO_MAX_OVERFLOW", 10),
        "timeout": float(_int_env("DEMO_POOL_TIMEOUT", 10)),
        **dict(MODE.pool_extra),
    }

DATABASES = {
    "default": {
        "ENGINE": MODE.engine,
        "NAME": os.environ.get("DEMO_DB_NAME", "pooled_demo"),
        **_server,
        # The ENGINE refuses anything but 0: the pool, not Django, keeps connections open.
        "CONN_MAX_AGE": MODE.conn_max_age,
        "OPTIONS": _options,
        "TEST": {"CHARSET": "utf8mb4"},
    }
}

DEMO_PAUSE_MS = _int_env("DEMO_PAUSE_MS", 20)
DEMO_PRODUCTS = _int_env("DEMO_PRODUCTS", 1000)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "testproject.urls"
WSGI_APPLICATION = "testproject.wsgi.application"
# django_pooled_mysql: `manage.py pool_budget` and the pool's system checks (docs/operations.md).
INSTALLED_APPS = ["shop", "django_pooled_mysql"]
MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "shop.middleware.DatabaseErrorMiddleware",
]
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    # Under load every failing request would print a traceback; the error middleware counts
    # them instead, and the load client reads the cause from the response.
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "CRITICAL"},
        "django_pooled_mysql": {"handlers": ["console"], "level": "WARNING"},
    },
}
