"""Comparing the two runs: regressions, by-design exceptions, per-app counts."""

from __future__ import annotations

import dataclasses
from collections.abc import Container, Iterable

from tests.django_suite.results import Outcome

PASSED = frozenset({"ok", "xfail"})
BROKEN = frozenset({"error", "fail", "xpass"})


# Tests that cannot pass with this ENGINE by design, and why. They are reported on their own and
# not counted as regressions; one that starts passing is reported so it can leave the list.
BY_DESIGN = {
    "backends.mysql.tests.IsolationLevelTests.test_auto_is_null_auto_config": (
        "asserts that init_connection_state() sent a SET through Django's cursor "
        "(connection.queries[-1]); this ENGINE applies the per-connection settings once per "
        "physical connection inside the pool, so a Django connection logs no query there"
    ),
}


def app_of(test_id: str) -> str:
    """The app label a test id belongs to (class-level errors look like ``setUpClass (x.y)``)."""
    if test_id.endswith(")") and " (" in test_id:
        test_id = test_id.rsplit(" (", 1)[1][:-1]
    return test_id.split(".", 1)[0]


@dataclasses.dataclass
class Counts:
    """Per-app totals in unittest's terms; xpass counts as a failure, xfail as a pass."""

    tests: int = 0
    failures: int = 0
    errors: int = 0
    skips: int = 0

    def add(self, outcome: str) -> None:
        """Count one test."""
        self.tests += 1
        if outcome in ("fail", "xpass"):
            self.failures += 1
        elif outcome == "error":
            self.errors += 1
        elif outcome == "skip":
            self.skips += 1

    def cells(self) -> list[str]:
        """tests, failures, errors, skips as strings."""
        return [str(self.tests), str(self.failures), str(self.errors), str(self.skips)]


def count_by_app(results: dict[str, Outcome], apps: Iterable[str]) -> dict[str, Counts]:
    """Counts for each app, in the given order, plus any other app label that showed up."""
    counts = {app: Counts() for app in apps}
    for test_id, outcome in results.items():
        counts.setdefault(app_of(test_id), Counts()).add(outcome.outcome)
    total = Counts()
    for app_counts in counts.values():
        total.tests += app_counts.tests
        total.failures += app_counts.failures
        total.errors += app_counts.errors
        total.skips += app_counts.skips
    counts["TOTAL"] = total
    return counts


@dataclasses.dataclass
class Comparison:
    """How the pooled run differs from the stock run, test by test."""

    regressions: dict[str, tuple[Outcome, str]]  # id -> (pooled outcome, stock outcome)
    by_design: dict[str, str]  # id -> pooled outcome, for the tests in BY_DESIGN
    skipped_only_pooled: list[str]
    fixed: list[str]  # broken on stock, passing with this ENGINE
    pooled_only: list[str]  # ran only with this ENGINE


def compare(
    pooled: dict[str, Outcome],
    stock: dict[str, Outcome],
    by_design_ids: Container[str] = BY_DESIGN,
) -> Comparison:
    """Tests that pass on stock but fail, error or do not run with this ENGINE, and the rest.

    by_design_ids: the tests never counted as regressions (BY_DESIGN; tests pass their own).
    """
    regressions: dict[str, tuple[Outcome, str]] = {}
    by_design: dict[str, str] = {}
    skipped_only_pooled: list[str] = []
    fixed: list[str] = []
    for test_id, theirs in sorted(stock.items()):
        ours = pooled.get(test_id)
        if test_id in by_design_ids:
            by_design[test_id] = ours.outcome if ours else "not run"
            continue
        if ours is None:
            if theirs.outcome in PASSED:
                regressions[test_id] = (Outcome("not run"), theirs.outcome)
            continue
        if theirs.outcome in PASSED and ours.outcome in BROKEN:
            regressions[test_id] = (ours, theirs.outcome)
        elif theirs.outcome in PASSED and ours.outcome == "skip":
            skipped_only_pooled.append(test_id)
        elif theirs.outcome in BROKEN and ours.outcome in PASSED:
            fixed.append(test_id)
    pooled_only = sorted(set(pooled) - set(stock))
    return Comparison(regressions, by_design, skipped_only_pooled, fixed, pooled_only)
