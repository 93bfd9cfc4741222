"""PyMySQL installed as MySQLdb, as a PyMySQL user's settings.py does: the one copy used by the
test run (tests/driver.py), the scenario scripts the tests start (tests/gevent/, tests/faults/,
tests/ecosystem/) and the benchmarks.

It must run before anything imports MySQLdb or Django's MySQL backend, so a script calls it
right after putting the repository on ``sys.path`` (and after gevent's monkey-patching, which
comes first of all). This module imports nothing of the tests, Django or the package.
"""

from __future__ import annotations

DRIVERS = ("mysqlclient", "pymysql")

# Django's MySQL backend refuses a MySQLdb older than mysqlclient 2.2.1; PyMySQL reports its own
# version (1.x) under the MySQLdb name.
REPORTED_VERSION = (2, 2, 7, "final", 0)


def install() -> None:
    """Install PyMySQL as MySQLdb."""
    import pymysql

    pymysql.version_info = REPORTED_VERSION
    pymysql.install_as_MySQLdb()


def use(driver: str) -> None:
    """Make ``driver`` ("mysqlclient" or "pymysql") the one ``import MySQLdb`` gives."""
    if driver not in DRIVERS:
        raise ValueError("the driver must be one of %s, not %r" % (DRIVERS, driver))
    if driver == "pymysql":
        install()
