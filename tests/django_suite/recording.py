"""The test runner inside Django's runtests.py: records every test outcome as a JSON line.

Django's suite is run with its own ``tests/runtests.py``; the settings module written by
``suite_settings.py`` points ``TEST_RUNNER`` here. Outcomes are taken from the result object the
runner reports to (in ``--parallel`` runs the workers' events are replayed on it in the parent
process), so no console output has to be parsed.
"""

from __future__ import annotations

import json
import os
import unittest
from typing import Any

from django.test.runner import DiscoverRunner

from tests.django_suite.results import RESULTS_ENV

# Tracebacks are kept for the report; the end of one says what went wrong.
MAX_DETAIL = 6000


class RecordingResultMixin:
    """Appends one JSON line per outcome to the file named by ``DJANGO_SUITE_RESULTS``."""

    def _record(
        self, test: Any, outcome: str, err: Any = None, subtest: Any = None, reason: str = ""
    ) -> None:
        detail = reason
        if err is not None:
            try:
                detail = self._exc_info_to_string(err, test)  # type: ignore[attr-defined]
            except Exception as exc:  # a traceback rebuilt by tblib may not format
                detail = "%s (traceback unavailable: %r)" % (err[1], exc)
            detail = detail[-MAX_DETAIL:]
        line = {"id": test.id(), "outcome": outcome, "detail": detail}
        if subtest is not None:
            line["subtest"] = str(subtest)
        # Appended line by line, so the results survive a run that is killed half-way.
        with open(os.environ[RESULTS_ENV], "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")

    def addSuccess(self, test: Any) -> None:
        """Record a pass."""
        super().addSuccess(test)  # type: ignore[misc]
        self._record(test, "ok")

    def addFailure(self, test: Any, err: Any) -> None:
        """Record a failure with its traceback."""
        super().addFailure(test, err)  # type: ignore[misc]
        self._record(test, "fail", err)

    def addError(self, test: Any, err: Any) -> None:
        """Record an error with its traceback."""
        super().addError(test, err)  # type: ignore[misc]
        self._record(test, "error", err)

    def addSkip(self, test: Any, reason: str) -> None:
        """Record a skip with its reason."""
        super().addSkip(test, reason)  # type: ignore[misc]
        self._record(test, "skip", reason=reason)

    def addExpectedFailure(self, test: Any, err: Any) -> None:
        """Record an expected failure (a pass)."""
        super().addExpectedFailure(test, err)  # type: ignore[misc]
        self._record(test, "xfail")

    def addUnexpectedSuccess(self, test: Any) -> None:
        """Record an unexpected success (a failure)."""
        super().addUnexpectedSuccess(test)  # type: ignore[misc]
        self._record(test, "xpass")

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        """Record a failing or erroring subtest against its test."""
        super().addSubTest(test, subtest, err)  # type: ignore[misc]
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            self._record(test, "fail" if failed else "error", err, subtest)


class RecordingRunner(DiscoverRunner):
    """DiscoverRunner whose result class also writes each outcome to a JSON-lines file."""

    def get_resultclass(self) -> type[unittest.TextTestResult]:
        """Django's result class for the given options, with recording mixed in."""
        base = super().get_resultclass() or unittest.TextTestResult
        return type("Recording" + base.__name__, (RecordingResultMixin, base), {})
