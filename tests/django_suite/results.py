"""The recorded outcomes: one JSON line per report, read back as one outcome per test."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# The file the recording runner appends to, one JSON line per reported outcome.
RESULTS_ENV = "DJANGO_SUITE_RESULTS"

# Outcomes recorded by recording.py, worst first: a test that reports several
# (failing subtests) is counted once, by its worst.
SEVERITY = ("error", "fail", "xpass", "skip", "xfail", "ok")


@dataclasses.dataclass
class Outcome:
    """The final outcome of one test id, with the traceback of its worst report."""

    outcome: str
    detail: str = ""


def load_results(path: Path) -> dict[str, Outcome]:
    """Test id -> worst outcome, from the JSON lines the recording runner wrote."""
    results: dict[str, Outcome] = {}
    for record in _records(path):
        test_id, outcome = record["id"], record["outcome"]
        detail = record.get("detail", "")
        if record.get("subtest"):
            detail = "subtest %s\n%s" % (record["subtest"], detail)
        known = results.get(test_id)
        if known is None or SEVERITY.index(outcome) < SEVERITY.index(known.outcome):
            results[test_id] = Outcome(outcome, detail)
    return results


def _records(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON lines the recording runner wrote (none if the file is missing)."""
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                # The last line of a killed run may be cut short.
                continue


def contradictions(path: Path) -> list[str]:
    """Test ids with outcomes no single test can have: events pinned on the wrong tests.

    A test reports at most one of ok/skip/xfail/xpass; failures and errors may come on top (a
    body and a tearDown can both fail, and Django's TransactionTestCase reports a failed flush
    after the test's own success), but never next to a skip. Anything else means the parallel
    runner's event stream attributed outcomes to the wrong tests, as under Python 3.12.1.
    """
    seen: dict[str, list[str]] = {}
    for record in _records(path):
        if not record.get("subtest"):
            seen.setdefault(record["id"], []).append(record["outcome"])
    final = ("ok", "skip", "xfail", "xpass")
    return sorted(
        test_id
        for test_id, outcomes in seen.items()
        if sum(map(outcomes.count, final)) > 1 or ("skip" in outcomes and len(outcomes) > 1)
    )
