"""The Django-suite tool's judgement (tests/django_suite/): it decides `make test`'s exit status.

No database and no network: recorded outcomes are written as the recording runner writes them.
"""

from __future__ import annotations

import importlib.util
import io
import json
import unittest
from pathlib import Path
from typing import Any

import pytest

from tests.django_suite import SuiteError
from tests.django_suite.apps import FULL_APPS, QUICK_APPS
from tests.django_suite.compare import (
    BY_DESIGN,
    Counts,
    app_of,
    compare,
    count_by_app,
)
from tests.django_suite.recording import RecordingResultMixin
from tests.django_suite.report import (
    format_markdown_table,
    format_text_table,
    report,
    table_rows,
)
from tests.django_suite.results import RESULTS_ENV, Outcome, contradictions, load_results
from tests.django_suite.runs import Run
from tests.django_suite.server import server_from_url
from tests.django_suite.suite_settings import ENGINES, TEST_RUNNER, settings_source

BY_DESIGN_ID = next(iter(BY_DESIGN))


def write_records(path: Path, *records: dict[str, Any], cut_last: str = "") -> Path:
    """A results file as the recording runner appends it; cut_last adds a half-written line."""
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record) + "\n")
        out.write(cut_last)
    return path


def outcomes(**by_id: str) -> dict[str, Outcome]:
    """Test id -> Outcome; ids use __ for dots (keyword arguments)."""
    return {test_id.replace("__", "."): Outcome(outcome) for test_id, outcome in by_id.items()}


# -- reading the records -------------------------------------------------------------------------


def test_a_test_reported_several_times_counts_once_by_its_worst_outcome(tmp_path: Path) -> None:
    path = write_records(
        tmp_path / "r.jsonl",
        {"id": "a.tests.T.test_flush", "outcome": "ok", "detail": ""},
        {"id": "a.tests.T.test_flush", "outcome": "fail", "detail": "flush failed"},
        {"id": "a.tests.T.test_skip", "outcome": "skip", "detail": "no feature"},
        {"id": "a.tests.T.test_sub", "outcome": "ok", "detail": ""},
        {"id": "a.tests.T.test_sub", "outcome": "error", "detail": "boom", "subtest": "(i=2)"},
        {"id": "a.tests.T.test_sub", "outcome": "fail", "detail": "later", "subtest": "(i=3)"},
    )
    results = load_results(path)
    assert {k: v.outcome for k, v in results.items()} == {
        "a.tests.T.test_flush": "fail",
        "a.tests.T.test_skip": "skip",
        "a.tests.T.test_sub": "error",
    }
    assert results["a.tests.T.test_flush"].detail == "flush failed"
    assert results["a.tests.T.test_sub"].detail == "subtest (i=2)\nboom"
    assert results["a.tests.T.test_skip"].detail == "no feature"


def test_a_line_cut_short_by_a_killed_run_is_ignored(tmp_path: Path) -> None:
    path = write_records(
        tmp_path / "r.jsonl",
        {"id": "a.tests.T.test_one", "outcome": "ok"},
        cut_last='{"id": "a.tests.T.test_two", "outc',
    )
    assert load_results(path) == {"a.tests.T.test_one": Outcome("ok")}
    assert load_results(tmp_path / "missing.jsonl") == {}


@pytest.mark.parametrize(
    ("reported", "impossible"),
    [
        (["ok"], False),
        (["ok", "fail"], False),  # TransactionTestCase: a failed flush after the test's success
        (["fail", "error"], False),  # body and tearDown both failed
        (["ok", "skip"], True),
        (["ok", "ok"], True),
        (["xfail", "xpass"], True),
        (["skip", "fail"], True),
        (["skip", "skip"], True),
    ],
)
def test_outcomes_no_single_test_can_have_are_reported(
    tmp_path: Path, reported: list[str], impossible: bool
) -> None:
    records = [{"id": "a.tests.T.test_x", "outcome": outcome} for outcome in reported]
    path = write_records(tmp_path / "r.jsonl", *records)
    assert contradictions(path) == (["a.tests.T.test_x"] if impossible else [])


def test_failing_subtests_are_not_contradictions(tmp_path: Path) -> None:
    path = write_records(
        tmp_path / "r.jsonl",
        {"id": "a.tests.T.test_x", "outcome": "fail", "subtest": "(i=1)"},
        {"id": "a.tests.T.test_x", "outcome": "fail", "subtest": "(i=2)"},
        {"id": "a.tests.T.test_x", "outcome": "ok"},
    )
    assert contradictions(path) == []


# -- the recording runner, end to end without a database --------------------------------------


class _Sample(unittest.TestCase):
    # Run by the test below through unittest, not collected by pytest.
    __test__ = False

    def test_ok(self) -> None:
        pass

    def test_fail(self) -> None:
        self.fail("wrong answer")

    def test_error(self) -> None:
        raise KeyError("lost")

    @unittest.skip("no such feature")
    def test_skip(self) -> None:
        pass

    @unittest.expectedFailure
    def test_xfail(self) -> None:
        self.fail("known")

    @unittest.expectedFailure
    def test_xpass(self) -> None:
        pass

    def test_subtests(self) -> None:
        for i in range(3):
            with self.subTest(i=i):
                self.assertNotEqual(i, 1)


def test_recording_runner_records_what_unittest_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results_path = tmp_path / "pooled.jsonl"
    monkeypatch.setenv(RESULTS_ENV, str(results_path))
    result_class = type("Recording", (RecordingResultMixin, unittest.TextTestResult), {})
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(_Sample)
    runner = unittest.TextTestRunner(stream=io.StringIO(), resultclass=result_class)
    runner.run(suite)
    results = load_results(results_path)
    prefix = __name__ + "._Sample."
    assert {k.removeprefix(prefix): v.outcome for k, v in results.items()} == {
        "test_ok": "ok",
        "test_fail": "fail",
        "test_error": "error",
        "test_skip": "skip",
        "test_xfail": "xfail",
        "test_xpass": "xpass",
        "test_subtests": "fail",
    }
    assert "wrong answer" in results[prefix + "test_fail"].detail
    assert "KeyError: 'lost'" in results[prefix + "test_error"].detail
    assert results[prefix + "test_skip"].detail == "no such feature"
    assert results[prefix + "test_subtests"].detail.startswith("subtest ")
    assert "(i=1)" in results[prefix + "test_subtests"].detail


# -- comparing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("test_id", "app"),
    [
        ("basic.tests.ModelTest.test_x", "basic"),
        ("backends.mysql.tests.T.test_y", "backends"),
        ("setUpClass (fixtures_regress.tests.TestFixtures)", "fixtures_regress"),
        ("schema", "schema"),
    ],
)
def test_app_of(test_id: str, app: str) -> None:
    assert app_of(test_id) == app


@pytest.mark.parametrize("stock", ["ok", "xfail"])
@pytest.mark.parametrize("pooled", ["fail", "error", "xpass", None])
def test_passing_on_stock_and_broken_or_missing_with_this_engine_is_a_regression(
    stock: str, pooled: str | None
) -> None:
    theirs = {"a.tests.T.test_x": Outcome(stock)}
    ours = {} if pooled is None else {"a.tests.T.test_x": Outcome(pooled, "traceback")}
    comparison = compare(ours, theirs, by_design_ids=())
    assert list(comparison.regressions) == ["a.tests.T.test_x"]
    outcome, stock_outcome = comparison.regressions["a.tests.T.test_x"]
    assert (outcome.outcome, stock_outcome) == (pooled or "not run", stock)


@pytest.mark.parametrize(
    ("stock", "pooled"),
    [
        ("ok", "ok"),
        ("ok", "xfail"),
        ("xfail", "ok"),
        ("fail", "fail"),
        ("error", "fail"),
        ("skip", "fail"),  # never passed on stock: nothing to regress from
        ("skip", "skip"),
        ("fail", None),
    ],
)
def test_no_regression_unless_stock_passed(stock: str, pooled: str | None) -> None:
    ours = {} if pooled is None else {"a.tests.T.test_x": Outcome(pooled)}
    comparison = compare(ours, {"a.tests.T.test_x": Outcome(stock)}, by_design_ids=())
    assert comparison.regressions == {}


def test_the_rest_of_the_comparison_is_sorted_into_its_lists() -> None:
    stock = outcomes(
        a__T__skipped_here="ok",
        a__T__fixed_here="fail",
        a__T__errored_fixed="error",
        a__T__same="ok",
    )
    pooled = outcomes(
        a__T__skipped_here="skip",
        a__T__fixed_here="ok",
        a__T__errored_fixed="xfail",
        a__T__same="ok",
        b__T__only_here="fail",
    )
    comparison = compare(pooled, stock, by_design_ids=())
    assert comparison.regressions == {}
    assert comparison.skipped_only_pooled == ["a.T.skipped_here"]
    assert comparison.fixed == ["a.T.errored_fixed", "a.T.fixed_here"]
    assert comparison.pooled_only == ["b.T.only_here"]
    assert comparison.by_design == {}


def test_by_design_tests_are_listed_apart_and_never_counted_as_regressions() -> None:
    stock = outcomes(a__T__designed="ok", a__T__missing="ok", a__T__regressed="ok")
    pooled = outcomes(a__T__designed="error", a__T__regressed="fail")
    comparison = compare(pooled, stock, by_design_ids={"a.T.designed", "a.T.missing"})
    assert list(comparison.regressions) == ["a.T.regressed"]
    assert comparison.by_design == {"a.T.designed": "error", "a.T.missing": "not run"}


def test_by_design_defaults_to_the_documented_list() -> None:
    assert BY_DESIGN_ID == "backends.mysql.tests.IsolationLevelTests.test_auto_is_null_auto_config"
    comparison = compare({BY_DESIGN_ID: Outcome("error")}, {BY_DESIGN_ID: Outcome("ok")})
    assert comparison.regressions == {}
    assert comparison.by_design == {BY_DESIGN_ID: "error"}
    # Every entry says why.
    assert all(len(reason) > 40 for reason in BY_DESIGN.values())


def test_counts_follow_unittest_xpass_is_a_failure_xfail_a_pass() -> None:
    counts = Counts()
    for outcome in ("ok", "fail", "xpass", "error", "skip", "xfail"):
        counts.add(outcome)
    assert counts.cells() == ["6", "2", "1", "1"]


def test_per_app_counts_keep_the_list_order_add_strays_and_total() -> None:
    results = outcomes(
        basic__tests__A__one="ok",
        basic__tests__A__two="fail",
        schema__tests__B__one="skip",
        extra__tests__C__one="error",
    )
    results["setUpClass (basic.tests.D)"] = Outcome("error")
    counts = count_by_app(results, ["schema", "basic", "delete"])
    assert list(counts) == ["schema", "basic", "delete", "extra", "TOTAL"]
    assert {app: c.cells() for app, c in counts.items()} == {
        "schema": ["1", "0", "0", "1"],
        "basic": ["3", "1", "1", "0"],
        "delete": ["0", "0", "0", "0"],
        "extra": ["1", "0", "1", "0"],
        "TOTAL": ["5", "1", "2", "1"],
    }


def test_table_rows_put_both_engines_side_by_side_with_regressions_per_app() -> None:
    pooled = count_by_app(outcomes(a__t__x="fail", a__t__y="ok", b__t__z="ok"), ["a", "b"])
    stock = count_by_app(outcomes(a__t__x="ok", a__t__y="ok", b__t__z="ok"), ["a", "b"])
    rows = table_rows(pooled, stock, ["a.t.x"])
    assert rows == [
        ["a", "2", "1", "0", "0", "2", "0", "0", "0", "1"],
        ["b", "1", "0", "0", "0", "1", "0", "0", "0", "0"],
        ["TOTAL", "3", "1", "0", "0", "3", "0", "0", "0", "1"],
    ]
    markdown = format_markdown_table(rows).splitlines()
    assert markdown[0].startswith("| app | pooled tests | fail | error | skip | stock tests |")
    assert markdown[-1] == "| " + " | ".join("**%s**" % cell for cell in rows[-1]) + " |"
    assert markdown[-1].startswith("| **TOTAL** | **3** | **1** |")
    text = format_text_table(rows).splitlines()
    assert "django_pooled_mysql" in text[0] and "stock mysql" in text[0]
    # Aligned columns: every row ends at the same width.
    assert len({len(line) for line in text[1:]}) == 1


# -- reporting and the exit status ---------------------------------------------------------------


def completed_runs(tmp_path: Path, keys: tuple[str, ...] = ("pooled", "stock")) -> dict[str, Run]:
    """Runs whose logs show a finished runtests.py (unittest's "Ran N tests" line)."""
    runs = {}
    for key in keys:
        run = Run(key, ENGINES[key], tmp_path / ("%s.jsonl" % key), tmp_path / ("%s.log" % key))
        run.log.write_text("....\nRan 4 tests in 0.1s\n\nOK\n")
        run.returncodes = [0]
        runs[key] = run
    return runs


def judge(
    tmp_path: Path,
    pooled: dict[str, str],
    stock: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str]:
    """report()'s exit status and output for two runs that recorded these outcomes."""
    runs = completed_runs(tmp_path)
    for key, recorded in (("pooled", pooled), ("stock", stock)):
        write_records(
            runs[key].results,
            *(
                {"id": i, "outcome": o, "detail": "Traceback\nE: %s" % o}
                for i, o in recorded.items()
            ),
        )
    results = {key: load_results(run.results) for key, run in runs.items()}
    status = report(runs, results, ["a", "backends"], markdown=False)
    return status, capsys.readouterr().out


def test_report_exits_0_without_regressions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = judge(
        tmp_path,
        {"a.t.x": "ok", BY_DESIGN_ID: "error"},
        {"a.t.x": "ok", BY_DESIGN_ID: "ok"},
        capsys,
    )
    assert status == 0
    assert "No regressions against the stock backend." in out
    assert "Fail with this ENGINE by design" in out and BY_DESIGN_ID in out
    assert "take it off BY_DESIGN" not in out


def test_report_exits_1_on_a_regression_and_shows_its_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = judge(tmp_path, {"a.t.x": "error"}, {"a.t.x": "ok", "a.t.y": "ok"}, capsys)
    assert status == 1
    assert "Regressions: pass on stock, not with this ENGINE (2):" in out
    assert "a.t.x  [error; stock: ok]" in out and "E: error" in out
    assert "a.t.y  [not run; stock: ok]" in out


def test_report_asks_to_drop_a_by_design_test_that_now_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = judge(tmp_path, {BY_DESIGN_ID: "ok"}, {BY_DESIGN_ID: "ok"}, capsys)
    assert status == 0
    assert "<- now ok: take it off BY_DESIGN" in out


def test_report_exits_2_when_a_run_did_not_complete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = completed_runs(tmp_path)
    runs["pooled"].log.write_text("....\nTraceback (most recent call last):\nMemoryError\n")
    results: dict[str, dict[str, Outcome]] = {"pooled": {}, "stock": {}}
    assert report(runs, results, ["a"], markdown=False) == 2
    out = capsys.readouterr().out
    assert "[pooled] runtests.py did not complete (exit status [0])" in out
    assert "MemoryError" in out


def test_report_exits_2_on_impossible_outcomes_even_without_regressions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = completed_runs(tmp_path)
    write_records(
        runs["pooled"].results, {"id": "a.t.x", "outcome": "ok"}, {"id": "a.t.x", "outcome": "skip"}
    )
    write_records(runs["stock"].results, {"id": "a.t.x", "outcome": "ok"})
    results = {key: load_results(run.results) for key, run in runs.items()}
    assert report(runs, results, ["a"], markdown=False) == 2
    assert "contradictory outcomes, e.g. a.t.x" in capsys.readouterr().out


def test_one_engine_only_prints_its_counts_and_compares_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = completed_runs(tmp_path, ("pooled",))
    results = {"pooled": outcomes(a__t__x="fail", a__t__y="ok")}
    assert report(runs, results, ["a"], markdown=False) == 0
    out = capsys.readouterr().out
    assert "pooled (django_pooled_mysql):" in out
    assert "Regressions" not in out and "No regressions" not in out


def test_a_run_is_complete_only_with_a_summary_line_per_invocation(tmp_path: Path) -> None:
    run = completed_runs(tmp_path, ("stock",))["stock"]
    assert run.completed
    run.invocations = 2  # --isolate: one runtests.py per label
    assert not run.completed
    run.log.write_text("Ran 3 tests in 1s\nOK\nRan 1 test in 0.1s\nOK\n")
    assert run.completed
    run.timed_out = True
    assert not run.completed


# -- the settings and the lists ------------------------------------------------------------------


def test_settings_module_has_both_aliases_and_the_recording_runner() -> None:
    server = {"HOST": "db", "PORT": "3307", "USER": "u", "PASSWORD": "p"}
    source = settings_source("django_pooled_mysql", server, "dsuite1_pooled", {"pool": {"a": 1}})
    namespace: dict[str, Any] = {}
    # test_sqlite only exists in Django's tests/ directory; the rest must run as written.
    exec(source.replace("from test_sqlite import *", "pass"), namespace)
    databases = namespace["DATABASES"]
    assert set(databases) == {"default", "other"}
    assert databases["default"]["NAME"] == "dsuite1_pooled"
    assert databases["other"]["NAME"] == "dsuite1_pooled_other"
    assert databases["other"]["OPTIONS"] == {"pool": {"a": 1}}
    assert databases["default"]["HOST"] == "db" and databases["default"]["PORT"] == "3307"
    assert namespace["TEST_RUNNER"] == TEST_RUNNER
    module, _, name = TEST_RUNNER.rpartition(".")
    assert importlib.util.find_spec(module) is not None and name == "RecordingRunner"


def test_server_url_is_parsed_and_a_bad_one_does_not_echo_its_password() -> None:
    assert server_from_url("mysql://us%40r:p%3Aw@db.example:3307/") == {
        "HOST": "db.example",
        "PORT": "3307",
        "USER": "us@r",
        "PASSWORD": "p:w",
    }
    assert server_from_url("mariadb://127.0.0.1/")["PORT"] == "3306"
    with pytest.raises(SuiteError) as caught:
        server_from_url("postgres://u:secret@db/")
    assert "secret" not in str(caught.value)


def test_the_quick_list_is_a_subset_of_the_full_list() -> None:
    assert len(set(FULL_APPS)) == len(FULL_APPS)
    assert len(set(QUICK_APPS)) == len(QUICK_APPS)
    assert set(QUICK_APPS) <= set(FULL_APPS)
