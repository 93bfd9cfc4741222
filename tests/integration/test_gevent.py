"""Cooperative mysqlclient under gevent (issue 7); each scenario runs in a fresh process."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.helpers import ROOT, Scratch, run_script

CHECKS = ROOT / "tests" / "gevent" / "checks.py"


def run(scratch: Scratch, scenario: str, **spec: Any) -> dict[str, Any]:
    return run_with_stderr(scratch, scenario, **spec)[0]


def run_with_stderr(scratch: Scratch, scenario: str, **spec: Any) -> tuple[dict[str, Any], str]:
    return run_script(CHECKS, {"scenario": scenario, "db": scratch.name, **spec})


@pytest.fixture
def geventdb(scratch: Scratch) -> Scratch:
    scratch.admin.query(
        "CREATE TABLE %s.hits (id INT AUTO_INCREMENT PRIMARY KEY, worker INT)" % scratch.name
    )
    scratch.admin.query(
        "CREATE PROCEDURE %s.two_sets() BEGIN SELECT 1; SELECT 2, 3; END" % scratch.name
    )
    return scratch


def test_twenty_sleeping_statements_overlap_with_cooperative_mysqlclient(geventdb: Scratch) -> None:
    cooperative = run(geventdb, "sleep", cooperative=True)
    blocking = run(geventdb, "sleep", cooperative=False)
    # 20 x SLEEP(0.2): about 0.2 s when the waits overlap, 4 s when each blocks the hub.
    assert cooperative["elapsed"] < 1.5, cooperative
    assert blocking["elapsed"] > 3.5, blocking


def test_pymysql_overlaps_without_help(geventdb: Scratch) -> None:
    assert run(geventdb, "sleep", driver="pymysql")["elapsed"] < 1.5


def test_waiting_for_a_pooled_connection_yields_to_other_greenlets(geventdb: Scratch) -> None:
    observed = run(geventdb, "ticks", pool={"pool_size": 1})
    # 10 statements of 50 ms through one connection: about 0.5 s, during which a ticker
    # greenlet (10 ms period) keeps running because neither the wait nor the query blocks.
    assert observed["wait_count"] >= 5
    assert observed["ticks"] >= observed["elapsed"] / 0.01 * 0.5, observed


def test_results_errors_and_multiple_results_match_the_blocking_driver(geventdb: Scratch) -> None:
    cooperative = run(geventdb, "semantics", cooperative=True)
    geventdb.admin.query("TRUNCATE %s.hits" % geventdb.name)
    blocking = run(geventdb, "semantics", cooperative=False)
    assert cooperative == blocking
    assert cooperative["syntax_error"] == ["ProgrammingError", 1064]
    assert cooperative["duplicate"] == ["IntegrityError", 1062]
    assert cooperative["killed_mid_wait"] == ["OperationalError", 2013]
    assert cooperative["procedure"] == [[[1]], [[2, 3]]]
    assert cooperative["multi"] == [1, 2]
    assert cooperative["committed"] == [[1], [11]]


def test_gevent_timeout_never_leaves_a_half_used_connection(geventdb: Scratch) -> None:
    observed = run(geventdb, "timeouts", pool={"pool_size": 1})
    assert observed["statement_timeout"] and observed["new_connection"]
    assert observed["after_statement_timeout"] == [[7]]
    assert observed["wait_timeout"]
    assert (observed["in_use"], observed["waiting"]) == (0, 0)
    assert observed["invalidations"] == 1
    assert observed["after_wait_timeout"] == [[9]]


def test_connect_runs_off_the_hub(geventdb: Scratch) -> None:
    observed = run(geventdb, "connect", pool={"pool_size": 10})
    assert observed["ticks_during"] > 0, observed


@pytest.mark.parametrize("cooperative", [True, False], ids=["cooperative", "blocking"])
def test_later_result_sets_are_read_off_the_hub(geventdb: Scratch, cooperative: bool) -> None:
    observed = run(
        geventdb, "later_results", cooperative=cooperative, driver_options={"read_timeout": 1}
    )
    assert observed["sets"] == [[[1]], [[0]], [[3]]]
    # read_timeout ends the wait for the second result set with the driver's own error.
    assert observed["read_timeout"] == ["OperationalError", 2013], observed
    assert observed["after"] == [[42]] and observed["in_use"] == 0
    if cooperative:
        # 0.5 s of SLEEP in the second statement, a ticker every 10 ms: it keeps running.
        assert observed["ticks"] >= observed["elapsed"] / 0.01 * 0.5, observed
        # gevent.Timeout(0.3) ends the wait (the 5 s statement is abandoned with its socket).
        assert observed["interrupted"] == "gevent.Timeout", observed
        assert observed["interrupted_after"] < 0.9, observed  # before read_timeout
    else:
        # The blocking driver waits in C: the ticker cannot run meanwhile.
        assert observed["ticks"] <= 2, observed


def test_refused_cooperative_connect_raises_quietly(geventdb: Scratch) -> None:
    observed, stderr = run_with_stderr(geventdb, "refused_connect", password="wrong-password")
    assert observed["codes"] == [["OperationalError", 1045]] * 3
    # gevent's thread pool prints a traceback for exceptions leaving a task; none may.
    assert "Traceback" not in stderr and "failed with" not in stderr, stderr[-2000:]


@pytest.mark.parametrize(
    "spec",
    [{"cooperative": True}, {"cooperative": False}, {"driver": "pymysql"}],
    ids=["mysqlclient-cooperative", "mysqlclient-blocking", "pymysql"],
)
def test_greenlets_that_end_pinned_give_their_connections_back(
    geventdb: Scratch, spec: dict[str, Any]
) -> None:
    pool = {"pool_size": 4, "max_overflow": 2, "timeout": 3}
    observed = run(geventdb, "abandoned", pool=pool, **spec)
    cap = observed["cap"]
    assert observed["after"] == [[1]]
    assert observed["abandoned"] == cap + 3, observed
    assert observed["in_use"] == 0 and observed["peak_open"] <= cap, observed
    assert observed["locks_free"] == [1, 1]
    assert observed["uncommitted"] == 0


@pytest.mark.parametrize(
    "spec",
    [{"cooperative": True}, {"driver": "pymysql"}],
    ids=["mysqlclient-cooperative", "pymysql"],
)
def test_the_housekeeper_is_a_greenlet_and_shrinks_the_pool(
    geventdb: Scratch, spec: dict[str, Any]
) -> None:
    pool = {
        "pool_size": 2,
        "max_overflow": 6,
        "min_idle": 2,
        "idle_timeout": 1.0,
        "keepalive_time": 0.3,
    }
    observed = run(geventdb, "housekeeping", pool=pool, **spec)
    assert observed["peak"] == 8 and observed["open"] == 2, observed
    assert observed["closed_idle"] == 6 and observed["keepalive_pings"] >= 1, observed
    assert observed["same_os_thread"] and observed["ticks"] > 50, observed


@pytest.mark.parametrize("driver", ["mysqlclient", "pymysql"])
def test_session_variables_and_warnings_never_hold_a_connection(
    geventdb: Scratch, driver: str
) -> None:
    # 60 greenlets, each waiting between statements (an upstream call), on 3 connections: no
    # greenlet keeps a connection through its waits, and each reads its own values.
    seen = run(geventdb, "session_variables", driver=driver, pool={"pool_size": 3})
    assert (seen["wrong"], seen["held"]) == ([], []), seen
    assert (seen["session_pins"], seen["timeouts"]) == (0, 0), seen
    assert seen["peak_in_use"] <= 3 and seen["replays"] > 0, seen


@pytest.mark.parametrize(
    "spec",
    [{"cooperative": True}, {"driver": "pymysql"}],
    ids=["mysqlclient-cooperative", "pymysql"],
)
def test_holders_names_the_greenlet_and_a_signal_logs_them(
    geventdb: Scratch, spec: dict[str, Any]
) -> None:
    observed = run(geventdb, "holders", **spec)
    assert observed["holder"] == "holder-greenlet" and observed["holder_is_the_greenlet"]
    assert observed["kind"] == "transaction"
    [message] = observed["logged"]
    assert " transaction (transaction), holder-greenlet [" in message, message
