"""What classifying a statement text costs (the sql package); prints a table, asserts nothing.

    .venv/bin/python benchmarks/lexer.py [--rounds 7]

No database needed. Each figure is the best of --rounds timings of a loop sized to run for about
a tenth of a second. The budgets the lexer was written to: a remembered verdict < 0.1 us, an ORM
SELECT of ~300 characters classified from scratch < 30 us, a 100 KB bulk insert < 10 ms.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from django_pooled_mysql.sql import describe_insert, lex, verdicts

# What Django's ORM sends for a filtered, joined list (346 characters) and a get().
ORM_SELECT = (
    "SELECT `app_book`.`id`, `app_book`.`title`, `app_book`.`author_id`, `app_book`.`published`,"
    " `app_book`.`price`, `app_author`.`id`, `app_author`.`name` FROM `app_book` INNER JOIN"
    " `app_author` ON (`app_book`.`author_id` = `app_author`.`id`) WHERE (`app_book`.`published`"
    " >= %s AND `app_author`.`name` LIKE %s) ORDER BY `app_book`.`id` DESC LIMIT 21"
)
ORM_GET = (
    "SELECT `app_author`.`id`, `app_author`.`name` FROM `app_author`"
    " WHERE `app_author`.`id` = %s LIMIT 21"
)
ORM_INSERT = (
    "INSERT INTO `app_book` (`title`, `author_id`, `price`) VALUES (%s, %s, %s)"
    " RETURNING `app_book`.`id`"
)
ORM_UPDATE = "UPDATE `app_book` SET `title` = %s, `price` = %s WHERE `app_book`.`id` = %s"
SET_NAMES = "/*!40101 SET NAMES utf8mb4 */"
PROCEDURE = "CREATE PROCEDURE p() BEGIN DECLARE x INT; SET @x = 1; IF x THEN SELECT 1; END IF; END"
# bulk_create(): one (%s, %s) per object, ~100 KB of text.
BULK_INSERT = "INSERT INTO `app_book` (`title`, `author_id`) VALUES " + ", ".join(
    ["(%s, %s)"] * 10_000
)


def best(function: Callable[[], object], rounds: int) -> float:
    """Seconds per call: the best of rounds loops, each sized to run ~0.1 s."""
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            function()
        if time.perf_counter() - start > 0.02:
            break
        calls *= 4
    calls = max(1, int(calls * 0.1 / (time.perf_counter() - start)))
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        timings.append((time.perf_counter() - start) / calls)
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds

    classify_now = verdicts._classify  # from scratch, no remembered verdict
    remembered = verdicts.classify
    rows: list[tuple[str, str, str]] = []

    def row(what: str, seconds: float, unit: str = "us", budget: str = "") -> None:
        value = seconds * (1e6 if unit == "us" else 1e3)
        rows.append(
            (what, "%.3f %s" % (value, unit) if value < 10 else "%.1f %s" % (value, unit), budget)
        )

    verdicts._verdicts.clear()
    remembered(ORM_SELECT)
    row(
        "remembered verdict: classify(text)",
        best(lambda: remembered(ORM_SELECT), rounds),
        budget="< 0.1 us",
    )
    memory = verdicts._verdicts
    row("remembered verdict: the dict lookup alone", best(lambda: memory.get(ORM_SELECT), rounds))
    row(
        "ORM SELECT, %d chars, from scratch" % len(ORM_SELECT),
        best(lambda: classify_now(ORM_SELECT), rounds),
        budget="< 30 us",
    )
    row(
        "ORM get(), %d chars, from scratch" % len(ORM_GET),
        best(lambda: classify_now(ORM_GET), rounds),
    )
    row(
        "ORM INSERT ... RETURNING, %d chars" % len(ORM_INSERT),
        best(lambda: classify_now(ORM_INSERT), rounds),
    )
    row("ORM UPDATE, %d chars" % len(ORM_UPDATE), best(lambda: classify_now(ORM_UPDATE), rounds))
    row("mysqldump SET NAMES line", best(lambda: classify_now(SET_NAMES), rounds))
    row("CREATE PROCEDURE with a body", best(lambda: classify_now(PROCEDURE), rounds))
    row(
        "bulk INSERT, %d KB, classify()" % (len(BULK_INSERT) // 1000),
        best(lambda: remembered(BULK_INSERT), rounds),
        unit="ms",
        budget="< 10 ms",
    )
    row(
        "describe_insert(ORM INSERT)",
        best(lambda: describe_insert(ORM_INSERT), rounds),
    )
    row(
        "describe_insert(bulk INSERT, %d KB)" % (len(BULK_INSERT) // 1000),
        best(lambda: describe_insert(BULK_INSERT), rounds),
        unit="ms",
    )
    row("lex(ORM SELECT): every token", best(lambda: lex(ORM_SELECT), rounds))
    print("Python %s" % sys.version.split()[0])
    width = max(len(what) for what, _, _ in rows)
    print("%-*s  %12s  %s" % (width, "operation", "best", "budget"))
    for what, value, budget in rows:
        print("%-*s  %12s  %s" % (width, what, value, budget))
    print("bulk INSERT remembered: %s" % (BULK_INSERT in verdicts._verdicts))


if __name__ == "__main__":
    main()
