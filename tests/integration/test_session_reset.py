"""A session that carried state comes back exactly as the pool made it (issue 13, item 5).

With mysqlclient the pool resets the session in place (COM_RESET_CONNECTION, then its session
settings again); with PyMySQL it reconnects. Either way, every session variable must equal a
freshly made connection's, and no kind of state may survive.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError

from tests.driver import DRIVER
from tests.support.helpers import Admin, Scratch, rows, session_id

POOL = {"pool_size": 1, "max_overflow": 0, "timeout": 10}


def settings(scratch: Scratch) -> dict[str, Any]:
    base = scratch.settings(POOL)
    options = {
        **base["OPTIONS"],
        "charset": "utf8mb4",
        "isolation_level": "read committed",
        "init_command": "SET SESSION lock_wait_timeout = 5, @pool_marker = 'from init_command'",
    }
    return {**base, "OPTIONS": options}


def wrapper(scratch: Scratch) -> Any:
    from django_pooled_mysql.base import DatabaseWrapper

    db = DatabaseWrapper(settings(scratch), "reset")
    scratch.wrappers.append(db)
    scratch.aliases.add("reset")
    return db


def snapshot(db: Any) -> dict[str, Any]:
    """Everything a session is: its variables, what init_command set, its database, and the
    client library's character set."""
    with db.cursor() as cursor:
        cursor.execute("SHOW SESSION VARIABLES")
        values = dict(cursor.fetchall())
        cursor.execute("SELECT @pool_marker, DATABASE()")
        values["@pool_marker"], values["DATABASE()"] = cursor.fetchone()
    db.ensure_connection()
    values["client character set"] = db.connection.character_set_name()
    return values


def leave_every_kind_of_state(db: Any, other_database: str) -> None:
    for sql in (
        "SET NAMES latin1",
        "SET @left_behind = 1",
        "SET time_zone = '+05:00'",
        "SET SESSION sql_mode = 'ANSI'",
        "SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE",
        "SET foreign_key_checks = 0",
        "SET SESSION lock_wait_timeout = 77",
        "CREATE TEMPORARY TABLE left_tmp (x INT)",
        "PREPARE left_stmt FROM 'SELECT 1'",
        "SELECT GET_LOCK('left_lock', 0)",
        "HANDLER testapp_author OPEN",
        # LOCK TABLES commits an open transaction, so the transaction comes after it.
        "LOCK TABLES testapp_counter WRITE, testapp_author WRITE",
        "SET autocommit = 0",
        "INSERT INTO testapp_author (name, age) VALUES ('uncommitted', 1)",
        "USE %s" % other_database,
    ):
        rows(db, sql)


def test_a_reset_session_is_exactly_a_fresh_one(scratch: Scratch, admin: Admin) -> None:
    other_database = scratch.name + "_other"
    admin.query("CREATE DATABASE %s" % other_database)
    try:
        first = wrapper(scratch)
        fresh = snapshot(first)
        first.close()
        # Variables that differ between two fresh sessions are the server's own per-moment
        # values (timestamp, random seeds, ...): not part of the comparison.
        admin_fresh = Admin()
        again = wrapper(scratch)
        rows(again, "SET @force_new_session = 1")  # pins, and the reset below reconnects or not
        again.close()
        admin_fresh.conn.close()
        dirty = wrapper(scratch)
        rows(dirty, "SELECT 1")
        leave_every_kind_of_state(dirty, other_database)
        dirty_session = rows(dirty, "SELECT CONNECTION_ID()")[0][0]  # inside its pin
        dirty.close()  # end of the request: the session is reset

        successor = wrapper(scratch)
        after = snapshot(successor)
        volatile = {"timestamp", "rand_seed1", "rand_seed2", "pseudo_thread_id", "thread_id"}
        if DRIVER == "pymysql":
            volatile |= {"pseudo_thread_id"}
        differences = {
            name: (fresh.get(name), after.get(name))
            for name in set(fresh) | set(after)
            if name not in volatile and fresh.get(name) != after.get(name)
        }
        assert differences == {}
        assert after["@pool_marker"] == "from init_command"
        assert after["tx_isolation"] == "READ-COMMITTED"
        assert after["character_set_client"] == "utf8mb4"

        # Nothing of the state survived.
        assert rows(successor, "SELECT @left_behind") == [(None,)]
        for gone in (
            "SELECT * FROM left_tmp",
            "EXECUTE left_stmt",
            "HANDLER testapp_author READ FIRST",
        ):
            with pytest.raises(DatabaseError):
                rows(successor, gone)
        assert admin.query("SELECT IS_FREE_LOCK('left_lock')") == [(1,)]
        assert admin.query("SELECT COUNT(*) FROM %s.testapp_author" % scratch.name) == [(0,)]
        admin.query(
            "INSERT INTO %s.testapp_counter (name, value) VALUES ('free', 1)" % scratch.name
        )

        stats = successor.pool_stats()
        if DRIVER == "mysqlclient":
            # Reset in place: the same server session, no new connection.
            assert session_id(successor) == dirty_session
            assert stats["reset_reconnects"] == 0
        else:
            assert stats["reset_reconnects"] == stats["resets"]
    finally:
        admin.query("DROP DATABASE IF EXISTS %s" % other_database)


def test_a_failed_reset_falls_back_to_reconnecting(scratch: Scratch, admin: Admin) -> None:
    db = wrapper(scratch)
    rows(db, "SET @x = 1")
    victim = rows(db, "SELECT CONNECTION_ID()")[0][0]
    admin.kill(victim)  # the reset meets a dead session
    db.close()
    successor = wrapper(scratch)
    assert rows(successor, "SELECT @x") == [(None,)]
    assert session_id(successor) != victim
    assert successor.pool_stats()["reset_reconnects"] == 1
