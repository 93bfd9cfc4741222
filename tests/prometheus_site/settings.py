"""Settings of the test site: the test server (DJANGO_POOLED_MYSQL_TEST_URL) and a database
named by PROMETHEUS_SITE_DB, with a pool small enough for the load to fill."""

from __future__ import annotations

import os

from tests import driver  # noqa: F401  (the run's driver, before anything imports MySQLdb)
from tests.support.mariadb_server import parse_url

_server = parse_url(os.environ["DJANGO_POOLED_MYSQL_TEST_URL"])

DATABASES = {
    "default": {
        "ENGINE": "django_pooled_mysql",
        "NAME": os.environ["PROMETHEUS_SITE_DB"],
        **_server,
        "OPTIONS": {"pool": {"pool_size": 2, "max_overflow": 2, "timeout": 20}},
    }
}
SECRET_KEY = "tests-only"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.prometheus_site.urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
USE_TZ = True
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    # INFO: the first pins and the holders logged on a signal (tests/integration/test_holders.py).
    "loggers": {"django_pooled_mysql": {"handlers": ["console"], "level": "INFO"}},
}
