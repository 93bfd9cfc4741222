"""Command line: choose the apps and ENGINEs, prepare, run each ENGINE, then report."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import tests.django_suite
from tests.django_suite import CACHE, ROOT, SuiteError, relative
from tests.django_suite.apps import FULL_APPS, QUICK_APPS
from tests.django_suite.compare import app_of
from tests.django_suite.report import report
from tests.django_suite.results import load_results
from tests.django_suite.runs import Run, run_runtests
from tests.django_suite.server import (
    drop_test_databases,
    has_time_zone_tables,
    load_time_zone_tables,
    server_from_url,
)
from tests.django_suite.source import (
    check_test_dependencies,
    ensure_django_source,
    installed_django_version,
)
from tests.django_suite.suite_settings import DEFAULT_POOL, ENGINES, settings_source
from tests.support.mariadb_server import URL_ENV, terminate_as_exit


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.django_suite",
        description=tests.django_suite.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="the short list of apps (%s)" % ", ".join(QUICK_APPS)
    )
    parser.add_argument(
        "--apps",
        help="comma-separated runtests.py labels instead of the list (apps or dotted test ids)",
    )
    parser.add_argument(
        "--engines",
        default="pooled,stock",
        help="which runs to make: pooled, stock or both (default: pooled,stock)",
    )
    parser.add_argument(
        "--parallel",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="runtests.py --parallel (default: 2, or 1 on one CPU)",
    )
    parser.add_argument(
        "--pool",
        default=json.dumps(DEFAULT_POOL),
        help="OPTIONS['pool'] for the pooled run, as JSON (default: %(default)s)",
    )
    parser.add_argument(
        "--isolate",
        action="store_true",
        help="one runtests.py run per label, so a test that breaks its process cannot fail the "
        "apps after it (slower: each run sets its databases up)",
    )
    parser.add_argument(
        "--load-timezones",
        action="store_true",
        help="fill the server's time zone tables if empty, so time-zone tests can pass; writes "
        "to its mysql schema: throwaway servers only (make django-suite passes it when it "
        "starts one)",
    )
    parser.add_argument(
        "--timeout", type=float, help="stop the runs of one ENGINE after this many seconds"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="compare the results of the last run of the same list instead of running",
    )
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument(
        "runtests_args",
        nargs="*",
        help="after --: more runtests.py arguments (e.g. -- --verbosity=2 -k savepoint)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite with each ENGINE and report the differences."""
    args = parse_args(argv)
    keys = [k.strip() for k in args.engines.split(",") if k.strip()]
    unknown = [k for k in keys if k not in ENGINES]
    if unknown or not keys:
        print("error: --engines takes pooled and/or stock, not %s" % args.engines, file=sys.stderr)
        return 2
    if args.apps:
        labels = [label.strip() for label in args.apps.split(",") if label.strip()]
        list_name = "custom"
    else:
        labels = list(QUICK_APPS if args.quick else FULL_APPS)
        list_name = "quick" if args.quick else "full"
    if args.isolate:
        list_name += "-isolated"
    apps = list(dict.fromkeys(app_of(label) for label in labels))
    version = installed_django_version()
    python = "py%d.%d" % sys.version_info[:2]
    run_dir = CACHE / "runs" / ("django-%s-%s" % (version, python)) / list_name
    runs = {
        key: Run(key, ENGINES[key], run_dir / ("%s.jsonl" % key), run_dir / ("%s.log" % key))
        for key in keys
    }
    try:
        if not args.report_only:
            with terminate_as_exit():
                _run_all(args, runs, labels, version, run_dir)
        elif not all(run.results.is_file() for run in runs.values()):
            raise SuiteError("no results in %s to report on" % relative(run_dir))
        else:
            for run in runs.values():
                run.load_meta()
    except SuiteError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    results = {key: load_results(run.results) for key, run in runs.items()}
    return report(runs, results, apps, args.markdown)


def _run_all(
    args: argparse.Namespace, runs: dict[str, Run], labels: list[str], version: str, run_dir: Path
) -> None:
    url = os.environ.get(URL_ENV)
    if not url:
        raise SuiteError(
            "%s is not set. Run `make django-suite` (which starts a throwaway MariaDB), or set it "
            "to a server this run may create test_dsuite* databases on." % URL_ENV
        )
    server = server_from_url(url)
    try:
        pool = json.loads(args.pool)
    except json.JSONDecodeError as exc:
        raise SuiteError("--pool is not JSON: %s" % exc) from None
    if args.parallel > 1 and sys.version_info[:3] == (3, 12, 1):
        # 3.12.1's unittest reports a skipped test without startTest(), and Django's parallel
        # runner numbers tests by startTest(): every outcome after a skip lands on the wrong test.
        # 3.12.2 restored the call.
        print("Python 3.12.1: running with --parallel=1 (see docs/django-suite.md).", flush=True)
        args.parallel = 1
    if args.parallel > 1 and not (shutil.which("mysqldump") and shutil.which("mysql")):
        # Django clones the test database for each worker with `mysqldump | mysql`.
        print("mysqldump/mysql not on PATH: running with --parallel=1.", flush=True)
        args.parallel = 1
    if args.load_timezones and not has_time_zone_tables(server):
        print("Loading time zone tables into the server's mysql schema...", flush=True)
        load_time_zone_tables(server)
    tests_dir = ensure_django_source(version)
    check_test_dependencies()
    run_dir.mkdir(parents=True, exist_ok=True)
    print(
        "Django %s's suite, %d label(s), --parallel=%d, on %s:%s"
        % (version, len(labels), args.parallel, server["HOST"], server["PORT"]),
        flush=True,
    )
    for key, run in runs.items():
        options = {"pool": pool} if key == "pooled" else {}
        # Named after this process: runs sharing a server (CI jobs, two Django versions) must not
        # drop each other's test databases.
        name = "dsuite%d_%s" % (os.getpid(), key)
        source = settings_source(run.engine, server, name, options)
        (run_dir / ("suite_settings_%s.py" % key)).write_text(source)
        try:
            run_runtests(
                run,
                tests_dir,
                [run_dir, ROOT],
                [[label] for label in labels] if args.isolate else [labels],
                args.parallel,
                args.timeout,
                args.runtests_args,
            )
        finally:
            # A run that was stopped (timeout, Ctrl-C, SIGTERM) leaves its test databases behind.
            dropped = drop_test_databases(server, name)
            if dropped:
                print("[%s] dropped leftover databases: %s" % (key, ", ".join(dropped)))
        state = "timed out" if run.timed_out else "exit status %s" % run.returncodes
        print("[%s] %s after %.0f s" % (run.key, state, run.seconds), flush=True)
