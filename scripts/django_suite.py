"""Django's own test suite as the judge: run it with this ENGINE and with the stock MySQL backend.

Downloads the source distribution of the installed Django into ``.cache/django-suite/`` (once),
runs ``tests/runtests.py`` for a list of apps first with ENGINE ``django_pooled_mysql`` and then
with ``django.db.backends.mysql`` on the server named by ``DJANGO_POOLED_MYSQL_TEST_URL``, and
compares the outcomes test by test. Exits 1 if a test that passes on the stock backend fails,
errors or does not run with this ENGINE; 2 if a run could not be completed.

Run it through ``make django-suite`` (which starts a throwaway MariaDB), or directly:
``scripts/mariadb_server.py run -- .venv/bin/python scripts/django_suite.py --quick``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.metadata
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.mariadb_server import terminate_as_exit  # noqa: E402

SCRIPTS = ROOT / "scripts"
CACHE = ROOT / ".cache" / "django-suite"
URL_ENV = "DJANGO_POOLED_MYSQL_TEST_URL"
RESULTS_ENV = "DJANGO_SUITE_RESULTS"

ENGINES = {
    "pooled": "django_pooled_mysql",
    "stock": "django.db.backends.mysql",
}
# A small pool with a short timeout: a test that holds more connections than it should fails
# with PoolTimeout after 10 s instead of hanging the run.
DEFAULT_POOL = {"pool_size": 5, "max_overflow": 10, "timeout": 10}

# Test-only dependencies of Django's suite that change what runs: tblib carries tracebacks out
# of --parallel workers (without it a failure there is unreportable), PyYAML enables the YAML
# serializer tests. Installed into the cache, never into the project's virtualenv.
TEST_DEPENDENCIES = ("tblib>=3.0", "PyYAML>=6.0")

# What pooling can break: transactions and leases, connection handling across threads and
# requests, the test framework's database set-up, schema changes and introspection, multiple
# databases; then the ORM's bread and butter, where thousands of statements each take a lease.
FULL_APPS = (
    # Transactions, connections, the test framework.
    "transactions",
    "transaction_hooks",
    "select_for_update",
    "backends",
    "db_utils",
    "multiple_database",
    "test_utils",
    "test_runner",
    "servers",
    "handlers",
    "async",
    "test_client",
    "fixtures",
    "fixtures_regress",
    "migrations",
    "migrate_signals",
    "migration_test_data_persistence",
    "schema",
    "introspection",
    "inspectdb",
    "dbshell",
    "check_framework",
    "cache",
    "sessions_tests",
    "auth_tests",
    "contenttypes_tests",
    "timezones",
    "raw_query",
    # The ORM.
    "basic",
    "queries",
    "bulk_create",
    "update",
    "update_only_fields",
    "delete",
    "delete_regress",
    "get_or_create",
    "force_insert_update",
    "save_delete_hooks",
    "signals",
    "model_fields",
    "field_defaults",
    "from_db_value",
    "custom_pk",
    "composite_pk",
    "constraints",
    "indexes",
    "model_indexes",
    "aggregation",
    "aggregation_regress",
    "annotations",
    "expressions",
    "expressions_case",
    "expressions_window",
    "db_functions",
    "lookup",
    "custom_lookups",
    "filtered_relation",
    "xor_lookups",
    "or_lookups",
    "null_queries",
    "string_lookup",
    "extra_regress",
    "dates",
    "datetimes",
    "ordering",
    "order_with_respect_to",
    "pagination",
    "get_earliest_or_latest",
    "get_object_or_404",
    "defer",
    "defer_regress",
    "select_related",
    "select_related_regress",
    "select_related_onetoone",
    "prefetch_related",
    "known_related_objects",
    "many_to_many",
    "many_to_one",
    "many_to_one_null",
    "one_to_one",
    "m2m_through",
    "m2m_through_regress",
    "m2m_regress",
    "m2m_recursive",
    "m2m_signals",
    "m2o_recursive",
    "generic_relations",
    "generic_relations_regress",
    "nested_foreign_keys",
    "null_fk",
    "null_fk_ordering",
    "mutually_referential",
    "model_inheritance",
    "model_inheritance_regress",
    "proxy_models",
    "proxy_model_inheritance",
    "custom_columns",
    "custom_managers",
    "unmanaged_models",
    "reserved_names",
    "datatypes",
    "max_lengths",
    "model_options",
    "model_package",
    "model_regress",
    "queryset_pickle",
    "serializers",
    "empty",
    # Forms and the admin on top of the ORM.
    "model_forms",
    "model_formsets",
    "inline_formsets",
    "admin_views",
    "admin_changelist",
    "generic_inline_admin",
)

# Under five minutes for both ENGINEs on two cores (about three measured here): the apps that
# exercise leases, pinning, threads, the schema editor and the test framework's database handling
# most directly.
QUICK_APPS = (
    "transactions",
    "transaction_hooks",
    "select_for_update",
    "backends",
    "db_utils",
    "multiple_database",
    "test_utils",
    "servers",
    "handlers",
    "async",
    "fixtures",
    "fixtures_regress",
    "schema",
    "introspection",
    "sessions_tests",
    "timezones",
    "raw_query",
    "basic",
    "bulk_create",
    "update",
    "delete",
    "get_or_create",
)

# Outcomes recorded by scripts/django_suite_runner.py, worst first: a test that reports several
# (failing subtests) is counted once, by its worst.
SEVERITY = ("error", "fail", "xpass", "skip", "xfail", "ok")
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


class SuiteError(RuntimeError):
    """The suite could not be prepared or run."""


# -- preparing the Django source and the test dependencies ----------------------------------------


def installed_django_version() -> str:
    """The version of the Django this interpreter imports."""
    return importlib.metadata.version("django")


def _pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SuiteError(
            "%s failed:\n%s%s" % (" ".join(cmd), result.stdout[-3000:], result.stderr[-3000:])
        )


def ensure_django_source(version: str, cache: Path = CACHE) -> Path:
    """Django's ``tests/`` directory for version, downloaded and unpacked on first use."""
    tests = cache / ("django-%s" % version) / "tests"
    if (tests / "runtests.py").is_file():
        return tests
    cache.mkdir(parents=True, exist_ok=True)
    print("Downloading the Django %s source distribution..." % version, flush=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        _pip("download", "--no-binary", ":all:", "--no-deps", "--dest", tmp, "django==%s" % version)
        archives = [p for p in Path(tmp).iterdir() if p.name.endswith((".tar.gz", ".zip"))]
        if len(archives) != 1:
            raise SuiteError("pip download left %s, expected one sdist" % archives)
        unpacked = Path(tmp) / "unpacked"
        _unpack(archives[0], unpacked)
        roots = list(unpacked.iterdir())
        if len(roots) != 1 or not (roots[0] / "tests" / "runtests.py").is_file():
            raise SuiteError("%s has no tests/runtests.py" % archives[0].name)
        # Renamed into place last, so an interrupted download is never mistaken for a source tree.
        roots[0].rename(cache / ("django-%s" % version))
    return tests


def _unpack(archive: Path, dest: Path) -> None:
    if archive.name.endswith(".zip"):
        import zipfile

        with zipfile.ZipFile(archive) as zf:
            zf.extractall(dest)
        return
    with tarfile.open(archive) as tf:
        if hasattr(tarfile, "data_filter"):
            # Refuses absolute paths and links out of dest (Python 3.11.4+, 3.12+).
            tf.extractall(dest, filter="data")
        else:
            # An sdist that pip fetched from the package index.
            tf.extractall(dest)


def ensure_test_dependencies(cache: Path = CACHE) -> Path:
    """A directory (for PYTHONPATH) holding Django's test-only dependencies for this Python."""
    site = cache / ("site-py%d.%d" % sys.version_info[:2])
    marker = site / ".installed"
    wanted = "\n".join(TEST_DEPENDENCIES)
    if marker.is_file() and marker.read_text() == wanted:
        return site
    print("Installing %s into %s..." % (", ".join(TEST_DEPENDENCIES), site), flush=True)
    _pip("install", "--quiet", "--upgrade", "--target", str(site), *TEST_DEPENDENCIES)
    marker.write_text(wanted)
    return site


# -- settings for runtests.py ---------------------------------------------------------------------


def server_from_url(url: str) -> dict[str, str]:
    """HOST/PORT/USER/PASSWORD from ``mysql://user:password@host:port/``."""
    parts = urlsplit(url)
    if parts.scheme not in ("mysql", "mariadb"):
        raise SuiteError(
            "%s must look like mysql://user:password@host:port/, not %r" % (URL_ENV, url)
        )
    return {
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or 3306),
        "USER": unquote(parts.username or "root"),
        "PASSWORD": unquote(parts.password or ""),
    }


def settings_source(engine: str, server: dict[str, str], name: str, options: dict) -> str:
    """The settings module runtests.py gets: Django's test_sqlite.py, on MySQL/MariaDB."""

    def database(db_name: str) -> dict[str, object]:
        return {
            "ENGINE": engine,
            "NAME": db_name,
            **server,
            "OPTIONS": options,
            "TEST": {"CHARSET": "utf8mb4"},
        }

    # Two aliases with different NAMEs, as Django's suite requires.
    databases = {"default": database(name), "other": database(name + "_other")}
    return "\n".join(
        (
            '"""Written by scripts/django_suite.py; rewritten on every run."""',
            "",
            "# Everything else as in the settings Django's suite ships for its own runs (they",
            "# differ between versions: Django 5.2's sets DEFAULT_AUTO_FIELD, which its model",
            "# check tests rely on).",
            "from test_sqlite import *  # noqa: F403",
            "",
            "DATABASES = %r" % (databases,),
            'TEST_RUNNER = "django_suite_runner.RecordingRunner"',
            "",
        )
    )


def _connect(server: dict[str, str]) -> Any:
    import MySQLdb

    return MySQLdb.connect(
        host=server["HOST"],
        port=int(server["PORT"]),
        user=server["USER"],
        password=server["PASSWORD"],
    )


def has_time_zone_tables(server: dict[str, str]) -> bool:
    """Whether the server can convert between named time zones (its mysql.time_zone* tables)."""
    conn = _connect(server)
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT CONVERT_TZ('2001-01-01 01:00:00', 'UTC', 'Europe/Paris')")
        return cursor.fetchone()[0] is not None
    finally:
        conn.close()


def load_time_zone_tables(server: dict[str, str]) -> None:
    """Fill the server's mysql.time_zone* tables from the system's zoneinfo files.

    Without them CONVERT_TZ() returns NULL and Django's time-zone tests fail with either ENGINE.
    This writes to the server's ``mysql`` schema: only for a throwaway server.
    """
    tool = shutil.which("mariadb-tzinfo-to-sql") or shutil.which("mysql_tzinfo_to_sql")
    client = shutil.which("mariadb") or shutil.which("mysql")
    if not tool or not client:
        raise SuiteError("--load-timezones needs mariadb-tzinfo-to-sql and the mariadb client")
    # The tool warns on stderr about zoneinfo files it skips; the SQL on stdout is what counts.
    sql = subprocess.run([tool, "/usr/share/zoneinfo"], capture_output=True, check=True).stdout
    env = {**os.environ, "MYSQL_PWD": server["PASSWORD"]}
    cmd = [client, "--host", server["HOST"], "--port", server["PORT"], "--user", server["USER"]]
    result = subprocess.run([*cmd, "mysql"], input=sql, capture_output=True, env=env)
    if result.returncode != 0:
        raise SuiteError("loading time zone tables failed: %s" % result.stderr.decode()[-2000:])


def drop_test_databases(server: dict[str, str], name: str) -> list[str]:
    """Drop the test databases (and parallel clones) runtests.py made for NAME; their names."""
    try:
        conn = _connect(server)
    except Exception as exc:
        print("warning: cannot check for leftover test databases: %s" % exc, file=sys.stderr)
        return []
    dropped = []
    try:
        cursor = conn.cursor()
        cursor.execute("SHOW DATABASES")
        # NAME carries this process's id, so only this run's databases match.
        for (database,) in cursor.fetchall():
            if database.startswith("test_" + name):
                cursor.execute("DROP DATABASE `%s`" % database)
                dropped.append(database)
    finally:
        conn.close()
    return dropped


# -- running ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    """The runtests.py invocations for one ENGINE (one, or one per app with --isolate)."""

    key: str
    engine: str
    results: Path
    log: Path
    returncodes: list[int] = dataclasses.field(default_factory=list)
    # Wall-clock seconds of each invocation, by its first label.
    batch_seconds: dict[str, float] = dataclasses.field(default_factory=dict)
    invocations: int = 1
    seconds: float = 0.0
    timed_out: bool = False

    @property
    def meta(self) -> Path:
        """Where the run's timings and exit statuses are kept for --report-only."""
        return self.results.with_suffix(".meta.json")

    def save_meta(self) -> None:
        """Write timings and exit statuses next to the results."""
        fields = ("returncodes", "batch_seconds", "invocations", "seconds", "timed_out")
        self.meta.write_text(json.dumps({name: getattr(self, name) for name in fields}))

    def load_meta(self) -> None:
        """Read what save_meta() wrote, if anything."""
        if self.meta.is_file():
            for name, value in json.loads(self.meta.read_text()).items():
                setattr(self, name, value)

    @property
    def completed(self) -> bool:
        """Whether every invocation got as far as unittest's summary line ("Ran N tests")."""
        if self.timed_out or not self.log.is_file():
            return False
        with self.log.open(errors="replace") as lines:
            summaries = sum(1 for line in lines if line.startswith("Ran ") and " test" in line)
        return summaries >= self.invocations


def run_runtests(
    run: Run,
    tests_dir: Path,
    python_path: Sequence[Path],
    batches: Sequence[Sequence[str]],
    parallel: int,
    timeout: float | None,
    extra_args: Sequence[str] = (),
) -> Run:
    """Run Django's runtests.py once per batch of labels, writing the output to run.log."""
    run.results.unlink(missing_ok=True)
    run.invocations = len(batches)
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    paths = [*map(str, python_path), *filter(None, [env.get("PYTHONPATH")])]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env[RESULTS_ENV] = str(run.results)
    print(
        "[%s] %s: %d label(s) in %d runtests.py run(s), log in %s"
        % (run.key, run.engine, sum(map(len, batches)), len(batches), _relative(run.log)),
        flush=True,
    )
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    with run.log.open("w") as log:
        for labels in batches:
            cmd = [
                sys.executable,
                "runtests.py",
                "--settings=suite_settings_%s" % run.key,
                "--noinput",
                "--parallel=%d" % parallel,
                *extra_args,
                *labels,
            ]
            log.write("$ (cd %s && %s)\n" % (tests_dir, " ".join(cmd)))
            log.flush()
            batch_started = time.monotonic()
            remaining = None if deadline is None else max(deadline - batch_started, 1)
            returncode = _invoke(cmd, tests_dir, env, log, remaining)
            run.batch_seconds[labels[0]] = time.monotonic() - batch_started
            if returncode is None:
                run.timed_out = True
                break
            run.returncodes.append(returncode)
    run.seconds = time.monotonic() - started
    run.save_meta()
    return run


def _invoke(
    cmd: list[str], cwd: Path, env: dict[str, str], log: IO[str], timeout: float | None
) -> int | None:
    # A session of its own, so the whole tree (parallel workers, mysqldump) can be stopped.
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None
    finally:
        if proc.poll() is None:
            _stop_group(proc)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


# -- results -----------------------------------------------------------------------------------


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


def compare(pooled: dict[str, Outcome], stock: dict[str, Outcome]) -> Comparison:
    """Tests that pass on stock but fail, error or do not run with this ENGINE, and the rest."""
    regressions: dict[str, tuple[Outcome, str]] = {}
    by_design: dict[str, str] = {}
    skipped_only_pooled: list[str] = []
    fixed: list[str] = []
    for test_id, theirs in sorted(stock.items()):
        ours = pooled.get(test_id)
        if test_id in BY_DESIGN:
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


# -- reporting ---------------------------------------------------------------------------------

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
                % (run.key, why, _relative(run.log))
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


# -- command line ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
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
            raise SuiteError("no results in %s to report on" % _relative(run_dir))
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
    deps = ensure_test_dependencies()
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
                [run_dir, SCRIPTS, deps],
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


if __name__ == "__main__":
    sys.exit(main())
