"""The fault-server fixture really is private and can be restarted and reconfigured."""

from __future__ import annotations

import os

from tests.settings import SERVER


def test_fault_server_is_not_the_main_test_server(fault_server) -> None:
    assert (fault_server.host, str(fault_server.port)) != (SERVER["HOST"], SERVER["PORT"])


def test_restart_keeps_data_and_drops_connections(fault_server) -> None:
    fault_server.query("CREATE DATABASE IF NOT EXISTS survive")
    fault_server.query("CREATE TABLE IF NOT EXISTS survive.t (x INT)")
    fault_server.query("INSERT INTO survive.t VALUES (7)")
    before = fault_server.query("SELECT CONNECTION_ID()")[0][0]
    old_pid = fault_server.process.pid
    fault_server.restart()
    assert fault_server.process.pid != old_pid
    assert fault_server.query("SELECT x FROM survive.t") == [(7,)]
    # Connection ids restart from 1 with a new server process.
    assert fault_server.query("SELECT CONNECTION_ID()")[0][0] <= before


def test_set_global_changes_only_the_private_server(fault_server) -> None:
    fault_server.set_global("max_connections", 12)
    assert fault_server.query("SELECT @@global.max_connections") == [(12,)]
    fault_server.set_global("max_connections", 100)


def test_kill_stops_the_server_process(fault_server) -> None:
    pid = fault_server.process.pid
    fault_server.kill()
    assert fault_server.process is None
    # The process is gone (reaped): signal 0 fails.
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive
    fault_server.restart()
    assert fault_server.query("SELECT 1") == [(1,)]
