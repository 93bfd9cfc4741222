"""The test server: its address, its time zone tables, and the test databases a run leaves."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Any

from tests.django_suite import SuiteError
from tests.support.mariadb_server import parse_url


def server_from_url(url: str) -> dict[str, str]:
    """HOST/PORT/USER/PASSWORD from ``mysql://user:password@host:port/``."""
    try:
        return parse_url(url)
    except ValueError as exc:
        raise SuiteError(str(exc)) from None


def _connect(server: dict[str, str]) -> Any:
    import MySQLdb

    return MySQLdb.connect(
        host=server["HOST"],
        port=int(server["PORT"]),
        user=server["USER"],
        password=server["PASSWORD"],
    )


def has_time_zone_tables(server: dict[str, str]) -> bool:
    """Whether the server can convert between named time zones (its mysql.time_zone* tables)."""
    conn = _connect(server)
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT CONVERT_TZ('2001-01-01 01:00:00', 'UTC', 'Europe/Paris')")
        return cursor.fetchone()[0] is not None
    finally:
        conn.close()


def load_time_zone_tables(server: dict[str, str]) -> None:
    """Fill the server's mysql.time_zone* tables from the system's zoneinfo files.

    Without them CONVERT_TZ() returns NULL and Django's time-zone tests fail with either ENGINE.
    This writes to the server's ``mysql`` schema: only for a throwaway server.
    """
    tool = shutil.which("mariadb-tzinfo-to-sql") or shutil.which("mysql_tzinfo_to_sql")
    client = shutil.which("mariadb") or shutil.which("mysql")
    if not tool or not client:
        raise SuiteError("--load-timezones needs mariadb-tzinfo-to-sql and the mariadb client")
    # The tool warns on stderr about zoneinfo files it skips; the SQL on stdout is what counts.
    sql = subprocess.run([tool, "/usr/share/zoneinfo"], capture_output=True, check=True).stdout
    env = {**os.environ, "MYSQL_PWD": server["PASSWORD"]}
    cmd = [client, "--host", server["HOST"], "--port", server["PORT"], "--user", server["USER"]]
    result = subprocess.run([*cmd, "mysql"], input=sql, capture_output=True, env=env)
    if result.returncode != 0:
        raise SuiteError("loading time zone tables failed: %s" % result.stderr.decode()[-2000:])


def drop_test_databases(server: dict[str, str], name: str) -> list[str]:
    """Drop the test databases (and parallel clones) runtests.py made for NAME; their names."""
    try:
        conn = _connect(server)
    except Exception as exc:
        print("warning: cannot check for leftover test databases: %s" % exc, file=sys.stderr)
        return []
    dropped = []
    try:
        cursor = conn.cursor()
        cursor.execute("SHOW DATABASES")
        # NAME carries this process's id, so only this run's databases match.
        for (database,) in cursor.fetchall():
            if database.startswith("test_" + name):
                cursor.execute("DROP DATABASE `%s`" % database)
                dropped.append(database)
    finally:
        conn.close()
    return dropped
