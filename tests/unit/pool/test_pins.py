"""Pins made visible, pool side (pool/pins.py and the counting in pool/pinned.py): the kind of
each reason, what a log shows of a statement, the counts by kind, the first pin of each kind from
each call site logged once. No database: a fake connection, the pool's clock a test clock."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from django_pooled_mysql.lease import connection as lease_connection
from django_pooled_mysql.pool import ConnectionPool, Lease, pins
from django_pooled_mysql.sql import classify, verdicts, words
from tests.support.helpers import StepClock, fake_pool, new_holder

PACKAGE = Path(pins.__file__).resolve().parents[1]


# -- kinds ---------------------------------------------------------------------------------------


def sql_reasons() -> set[str]:
    """Every reason sql/'s rules give (Verdict.leaves), read from their source."""
    text = "".join(path.read_text() for path in (PACKAGE / "sql").glob("*.py"))
    found = set(re.findall(r"\b_?leaves?\(\"([^\"]+)\"[,)]", text))
    found |= set(words._STATEFUL_CALLS.values()) | set(words._IDENTITY_VARIABLES.values())
    # Made of parts in the rules.
    for statement in (
        "CREATE TEMPORARY TABLE t (a int)",
        "CREATE TEMPORARY SEQUENCE s",
        "COMMIT AND CHAIN",
        "ROLLBACK AND CHAIN",
        "EXECUTE s",
        "EXECUTE IMMEDIATE 'SELECT 1'",
    ):
        leaves = classify(statement).leaves
        assert leaves is not None, statement
        found.add(leaves)
    assert verdicts._UNPARSED.leaves is not None
    found.add(verdicts._UNPARSED.leaves)
    return found


def test_every_reason_the_sql_rules_give_has_its_session_state_kind_in_the_table() -> None:
    # A new rule without a row would still get a label of its own (the fallback), but not one
    # grouped with its likes (named_lock, prepared_statement, ...).
    reasons = sql_reasons()
    assert reasons - set(pins._SESSION_STATE) == set(), "rules missing from pins._SESSION_STATE"
    assert set(pins._SESSION_STATE) - reasons == set(), "rows of no rule in pins._SESSION_STATE"


def lease_reasons() -> set[str]:
    """The reasons the lease layer names itself, read from its source."""
    text = "".join(path.read_text() for path in (PACKAGE / "lease").glob("*.py"))
    found = set(re.findall(r"\bwhy(?:: str = |=)\"([^\"]+)\"", text))
    found |= set(re.findall(r"\bhold\(\"([^\"]+)\"", text))
    return found | {lease_connection._TRACKED}


def test_the_lease_layers_own_reasons_are_kinds_of_the_vocabulary() -> None:
    reasons = lease_reasons()
    assert {"transaction", "pinned()", "server-side cursor"} <= reasons
    assert {pins.kind_of(reason) for reason in reasons} == {
        "transaction",
        "pinned",
        "server_side_cursor",
        "session_state:tracker",
    }


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("raw connection attribute 'thread_id'", "raw_connection"),
        ("SET", "session_state:set"),
        ("GET_LOCK()", "session_state:named_lock"),
        ("CREATE TEMPORARY TABLE", "session_state:temporary_table"),
        ("session identity (CONNECTION_ID())", "session_state:session_identity"),
        ("A rule added (later)", "session_state:a_rule_added_later"),
    ],
)
def test_kind_of_a_reason(reason: str, kind: str) -> None:
    assert pins.kind_of(reason) == kind


@pytest.mark.parametrize(
    ("current", "new", "counted"),
    [
        ("transaction", "session_state:set", True),  # held until close() now
        ("pinned", "raw_connection", True),
        ("server_side_cursor", "session_state:named_lock", True),
        ("transaction", "pinned", False),  # pinned() inside atomic() pins nothing more
        ("transaction", "server_side_cursor", False),
        ("pinned", "transaction", False),
        ("session_state:set", "session_state:named_lock", False),  # already until close()
        ("session_state:set", "transaction", False),
        ("raw_connection", "session_state:set", False),
        ("transaction", "transaction", False),
    ],
)
def test_a_new_reason_counts_only_if_it_holds_the_connection_longer(
    current: str, new: str, counted: bool
) -> None:
    assert pins.outlasts(new, current) is counted


# -- statements as logs show them ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "shown"),
    [
        ("SELECT 1", "SELECT 1"),
        ("ALTER USER 'app'@'%' IDENTIFIED BY 's3cret'", "ALTER USER '?'@'?' IDENTIFIED BY '?'"),
        ('SET PASSWORD = PASSWORD("s3cret")', "SET PASSWORD = PASSWORD('?')"),
        ("SELECT 'it''s', 'a\\'b', x'00ff', %s", "SELECT '?', '?', x'?', %s"),
        ("SELECT\n  a,\n\tb\nFROM t", "SELECT a, b FROM t"),
        (b"SET @a = 'x'", "SET @a = '?'"),
        (None, None),
    ],
)
def test_a_statement_shows_without_its_literals(statement: Any, shown: str | None) -> None:
    assert pins.statement_text(statement) == shown


def test_a_long_statement_is_cut_and_a_literal_cut_with_it_stays_hidden() -> None:
    long = "SELECT " + ", ".join(str(n) for n in range(1000))
    text = pins.statement_text(long)
    assert text is not None and len(text) == pins.STATEMENT_CHARS and text.endswith("...")
    assert text.startswith("SELECT 0, 1, 2, ")
    secret = "INSERT INTO t VALUES ('" + "p" * 10_000 + "')"
    assert pins.statement_text(secret) == "INSERT INTO t VALUES ('?'..."
    cut_in_a_literal = "SELECT " + "1, " * 60 + "'" + "q" * 300 + "'"
    assert "q" not in (pins.statement_text(cut_in_a_literal) or "")


# -- counts by kind ------------------------------------------------------------------------------

ENDS: dict[str, Callable[[Lease], object]] = {
    "checkin": lambda lease: lease.checkin(),
    "reset": lambda lease: lease.reset("SET"),
    "invalidate": lambda lease: lease.invalidate(),
}


@pytest.mark.parametrize("end", list(ENDS))
def test_pins_and_pinned_seconds_by_kind_follow_a_lease_to_its_end(end: str) -> None:
    pool = fake_pool()
    clock = pool.clock
    assert isinstance(clock, StepClock)
    lease = pool.pinned.pin(new_holder(pool), "transaction")
    clock.advance(2)
    lease.note_reason("pinned()")  # nothing more
    lease.note_reason("SET", "SET @@session.time_zone = '+00:00'")
    assert (lease.kind, lease.reason) == ("session_state:set", "SET")
    clock.advance(3)
    lease.note_reason("GET_LOCK()")  # nothing more
    stats = pool.stats()
    assert stats["pins"] == {"transaction": 1, "session_state:set": 1}
    assert stats["pinned_seconds"] == {"transaction": 2.0}  # the rest when the pin ends
    ENDS[end](lease)
    ENDS[end](lease)  # a second end counts nothing
    stats = pool.stats()
    assert stats["pins"] == {"transaction": 1, "session_state:set": 1}
    assert stats["pinned_seconds"] == {"transaction": 2.0, "session_state:set": 3.0}
    assert stats["in_use"] == 0 and stats["requests"] == 1


def test_statement_leases_count_no_pins() -> None:
    pool = fake_pool()
    for _ in range(3):
        record, _ = pool.checkout()
        pool.checkin(record)
    assert (pool.stats()["pins"], pool.stats()["pinned_seconds"]) == ({}, {})


# -- the first pin of each kind from each call site ----------------------------------------------


def first_pins(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "first pin for" in r.getMessage()]


def line_of(marker: str) -> int:
    """The line of this file that carries a marker comment."""
    for number, line in enumerate(Path(__file__).read_text().splitlines(), 1):
        if line.rstrip().endswith(marker):
            return number
    raise AssertionError(marker)


def pin_for_a_variable(pool: ConnectionPool) -> None:
    reason, statement = "user variable assignment", "SELECT @a := 'x'"
    pool.pinned.pin(new_holder(pool), reason, statement).checkin()  # SITE A


def test_the_first_pin_of_each_kind_from_each_call_site_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool = fake_pool("'fake' (u@h:3306/db)")
    with caplog.at_level(logging.INFO, logger="django_pooled_mysql"):
        for _ in range(3):
            pin_for_a_variable(pool)
        pool.pinned.pin(new_holder(pool), "transaction").checkin()  # SITE B
        pool.pinned.pin(new_holder(pool), "transaction").checkin()  # SITE C
    here = Path(__file__).resolve()
    assert first_pins(caplog) == [
        "pool 'fake' (u@h:3306/db): first pin for session_state:user_variable (user variable "
        "assignment) from %s:%d in pin_for_a_variable: SELECT @a := '?' (logged once per kind "
        "and call site)" % (here, line_of("# SITE A")),
        "pool 'fake' (u@h:3306/db): first pin for transaction (transaction) from %s:%d in "
        "test_the_first_pin_of_each_kind_from_each_call_site_is_logged_once (logged once per "
        "kind and call site)" % (here, line_of("# SITE B")),
        "pool 'fake' (u@h:3306/db): first pin for transaction (transaction) from %s:%d in "
        "test_the_first_pin_of_each_kind_from_each_call_site_is_logged_once (logged once per "
        "kind and call site)" % (here, line_of("# SITE C")),
    ]
    assert all(record.levelno == logging.INFO for record in caplog.records)


def test_the_call_sites_remembered_are_bounded(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pins.PinSites, "LIMIT", 2)
    pool = fake_pool()
    with caplog.at_level(logging.INFO, logger="django_pooled_mysql"):
        pool.pinned.pin(new_holder(pool), "transaction").checkin()
        pool.pinned.pin(new_holder(pool), "transaction").checkin()
        third = pool.pinned.pin(new_holder(pool), "transaction")
        pool.pinned.pin(new_holder(pool), "transaction").checkin()
    assert len(first_pins(caplog)) == 2
    [full] = [r.getMessage() for r in caplog.records if "not logged" in r.getMessage()]
    assert full == (
        "pool fake: 2 call sites have pinned connections; first pins from others are not logged"
    )
    # The site is still known to holders().
    assert third.site is not None
    assert third.site[::2] == (__file__, "test_the_call_sites_remembered_are_bounded")
    third.checkin()


def test_the_call_site_is_looked_for_at_the_first_pins_then_one_in_every(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    looked: list[int] = []
    monkeypatch.setattr(pins, "call_site", lambda: looked.append(1) or ("app.py", len(looked), "f"))
    sites = pins.PinSites("sampled")
    monkeypatch.setattr(sites, "FIRST", 4)
    monkeypatch.setattr(sites, "EVERY", 3)
    found = [sites.note("transaction", "transaction", None) for _ in range(13)]
    # Pins 1-4 always, then pins 6, 9 and 12.
    expected = [True] * 4 + [False, True, False, False, True, False, False, True, False]
    assert [site is not None for site in found] == expected
    assert len(looked) == 7
