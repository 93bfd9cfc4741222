"""Django settings for the operations tests' subprocesses (manage.py pool_budget and check).

OPS_DATABASES (JSON): DATABASES; OPS_SETTING (JSON, optional): DJANGO_POOLED_MYSQL;
OPS_APPS (JSON, optional): INSTALLED_APPS, default ["django_pooled_mysql"].
"""

from __future__ import annotations

import json
import os

from tests import driver  # noqa: F401  (the run's driver, before anything imports MySQLdb)

DATABASES = json.loads(os.environ["OPS_DATABASES"])
if os.environ.get("OPS_SETTING"):
    DJANGO_POOLED_MYSQL = json.loads(os.environ["OPS_SETTING"])
INSTALLED_APPS = json.loads(os.environ.get("OPS_APPS", '["django_pooled_mysql"]'))
SECRET_KEY = "tests-only"
USE_TZ = True
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"all": {"format": "%(levelname)s %(name)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "all"}},
    # Everything, at every level, for the test that looks for the password in it.
    "root": {"handlers": ["stderr"], "level": "DEBUG"},
}
