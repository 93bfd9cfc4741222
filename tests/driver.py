"""Choose the DB-API driver for a test run before anything imports MySQLdb.

DJANGO_POOLED_MYSQL_TEST_DRIVER=pymysql installs PyMySQL as MySQLdb, as a PyMySQL user's
settings.py would (tests/support/pymysql_shim.py).
"""

from __future__ import annotations

import os

from tests.support import pymysql_shim

DRIVER_ENV = "DJANGO_POOLED_MYSQL_TEST_DRIVER"
DRIVER = os.environ.get(DRIVER_ENV, "mysqlclient")

if DRIVER not in pymysql_shim.DRIVERS:
    raise RuntimeError("%s must be mysqlclient or pymysql, not %r" % (DRIVER_ENV, DRIVER))
pymysql_shim.use(DRIVER)
