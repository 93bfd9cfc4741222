"""Choose the DB-API driver for a test run before anything imports MySQLdb.

DJANGO_POOLED_MYSQL_TEST_DRIVER=pymysql installs PyMySQL as MySQLdb, as a PyMySQL user's
settings.py would.
"""

from __future__ import annotations

import os

DRIVER_ENV = "DJANGO_POOLED_MYSQL_TEST_DRIVER"
DRIVER = os.environ.get(DRIVER_ENV, "mysqlclient")

if DRIVER == "pymysql":
    import pymysql

    # Django's backend checks for mysqlclient >= 2.2.1.
    pymysql.version_info = (2, 2, 7, "final", 0)
    pymysql.install_as_MySQLdb()
elif DRIVER != "mysqlclient":
    raise RuntimeError("%s must be mysqlclient or pymysql, not %r" % (DRIVER_ENV, DRIVER))
