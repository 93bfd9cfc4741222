"""The report: per-app tables side by side, the regressions and the rest; the exit status."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from tests.django_suite import relative
from tests.django_suite.compare import (
    BROKEN,
    BY_DESIGN,
    Counts,
    app_of,
    compare,
    count_by_app,
)
from tests.django_suite.results import Outcome, contradictions
from tests.django_suite.runs import Run
from tests.django_suite.suite_settings import ENGINES

HEADER = ["app", "tests", "fail", "error", "skip", "tests", "fail", "error", "skip", "regressions"]


def table_rows(
    pooled: dict[str, Counts], stock: dict[str, Counts], regressions: Iterable[str]
) -> list[list[str]]:
    """One row per app: pooled counts, stock counts, regressions."""
    per_app: dict[str, int] = {}
    for test_id in regressions:
        per_app[app_of(test_id)] = per_app.get(app_of(test_id), 0) + 1
    per_app["TOTAL"] = sum(per_app.values())
    rows = []
    for app in dict.fromkeys([*pooled, *stock]):
        if app == "TOTAL":
            continue
        rows.append(
            [
                app,
                *pooled.get(app, Counts()).cells(),
                *stock.get(app, Counts()).cells(),
                str(per_app.get(app, 0)),
            ]
        )
    rows.append(["TOTAL", *pooled["TOTAL"].cells(), *stock["TOTAL"].cells(), str(per_app["TOTAL"])])
    return rows


def format_text_table(rows: list[list[str]]) -> str:
    """Aligned columns for a terminal."""
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]

    def line(cells: list[str]) -> str:
        aligned = [cells[0].ljust(widths[0])]
        aligned += [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join(aligned).rstrip()

    # Each group of four columns is one ENGINE's run.
    pooled_width = sum(widths[1:5]) + 6
    stock_width = sum(widths[5:9]) + 6
    title = "%s  %s  %s" % (
        "".ljust(widths[0]),
        "-- django_pooled_mysql --".center(pooled_width),
        "-- stock mysql --".center(stock_width),
    )
    return "\n".join([title.rstrip(), line(HEADER), *map(line, rows)])


def format_markdown_table(rows: list[list[str]]) -> str:
    """The same table in Markdown, for docs/django-suite.md."""
    header = [
        "app",
        "pooled tests",
        "fail",
        "error",
        "skip",
        "stock tests",
        "fail",
        "error",
        "skip",
        "regressions",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in rows:
        cells = ["**%s**" % c if row[0] == "TOTAL" else c for c in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _essence(detail: str, limit: int = 6) -> str:
    # The end of a traceback names the exception; the last frame in Django's tests or its test
    # framework says which step of the test hit it. Python's "^^^^" position markers only take room.
    lines = [
        line
        for line in detail.strip().splitlines()
        if line.strip() and line.strip().strip("^~") != ""
    ]
    tail = lines[-limit:]
    in_test = [
        i
        for i, line in enumerate(lines[:-limit])
        if line.lstrip().startswith("File ")
        and (("/tests/" in line and "/django-suite/" in line) or "/django/test/" in line)
    ]
    if in_test:
        tail = [*lines[in_test[-1] : in_test[-1] + 2], "...", *tail]
    return "\n".join("      " + line for line in tail)


def report(
    runs: dict[str, Run],
    results: dict[str, dict[str, Outcome]],
    apps: Sequence[str],
    markdown: bool,
) -> int:
    """Print the side-by-side table and the regressions; return the exit status."""
    status = 0
    for run in runs.values():
        if not run.completed:
            why = "timed out" if run.timed_out else "exit status %s" % run.returncodes
            print(
                "\n[%s] runtests.py did not complete (%s); the tail of %s:"
                % (run.key, why, relative(run.log))
            )
            print(_tail(run.log))
            status = 2
    for run in runs.values():
        confused = contradictions(run.results)
        if confused:
            print(
                "\n[%s] %d test(s) got contradictory outcomes, e.g. %s: the parallel runner "
                "mixed up which test an outcome belongs to. Run with --parallel=1."
                % (run.key, len(confused), ", ".join(confused[:3]))
            )
            status = 2
    if set(runs) != set(ENGINES):
        # One ENGINE only: its counts, nothing to compare with.
        for key, res in results.items():
            rows = [[app, *c.cells()] for app, c in count_by_app(res, apps).items()]
            widths = [max(len(r[i]) for r in [HEADER[:5], *rows]) for i in range(5)]
            print("\n%s (%s):" % (key, ENGINES[key]))
            for row in [HEADER[:5], *rows]:
                cells = [row[0].ljust(widths[0])] + [
                    c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
                ]
                print("  " + "  ".join(cells))
        return status
    comparison = compare(results["pooled"], results["stock"])
    pooled_counts = count_by_app(results["pooled"], apps)
    stock_counts = count_by_app(results["stock"], apps)
    rows = table_rows(pooled_counts, stock_counts, comparison.regressions)
    print()
    print(format_markdown_table(rows) if markdown else format_text_table(rows))
    print(
        "\nTime: pooled %.0f s, stock %.0f s (runtests.py wall clock, database set-up included)."
        % (runs["pooled"].seconds, runs["stock"].seconds)
    )
    if len(runs["pooled"].batch_seconds) > 1:
        print("\nSeconds per runtests.py run (pooled / stock):")
        for label, seconds in runs["pooled"].batch_seconds.items():
            print(
                "  %-24s %5.0f / %5.0f"
                % (label, seconds, runs["stock"].batch_seconds.get(label, 0))
            )
    if comparison.skipped_only_pooled:
        print(
            "\nPass on stock, skipped with this ENGINE (%d):" % len(comparison.skipped_only_pooled)
        )
        for test_id in comparison.skipped_only_pooled:
            print("  %s: %s" % (test_id, results["pooled"][test_id].detail))
    if comparison.fixed:
        print("\nBroken on stock, passing with this ENGINE (%d):" % len(comparison.fixed))
        for test_id in comparison.fixed:
            print("  " + test_id)
    if comparison.pooled_only:
        print("\nRan only with this ENGINE (%d):" % len(comparison.pooled_only))
        for test_id in comparison.pooled_only:
            print("  %s: %s" % (test_id, results["pooled"][test_id].outcome))
    if comparison.by_design:
        print("\nFail with this ENGINE by design (not counted as regressions):")
        for test_id, outcome in comparison.by_design.items():
            note = "" if outcome in BROKEN else "  <- now %s: take it off BY_DESIGN" % outcome
            print("  %s  [%s]%s\n      %s" % (test_id, outcome, note, BY_DESIGN[test_id]))
    if comparison.regressions:
        print(
            "\nRegressions: pass on stock, not with this ENGINE (%d):" % len(comparison.regressions)
        )
        for test_id, (ours, theirs) in comparison.regressions.items():
            print("  %s  [%s; stock: %s]" % (test_id, ours.outcome, theirs))
            if ours.detail:
                print(_essence(ours.detail))
        status = max(status, 1)
    else:
        print("\nNo regressions against the stock backend.")
    return status


def _tail(path: Path, lines: int = 40) -> str:
    if not path.is_file():
        return "    (no log)"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join("    " + line for line in text)
