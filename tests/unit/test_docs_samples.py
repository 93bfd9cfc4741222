"""Every code sample of the documentation site is one the tests know and check (no database).

Python and INI samples are files under docs/examples/ (or parts of testproject/) that pages
include; they are imported, parsed and validated here. Shell samples must name only make
targets, modules, files, options and URLs that exist. SQL samples and the samples that touch
the database run in tests/integration/test_docs_samples.py.
"""

from __future__ import annotations

import ast
import configparser
import importlib.util
import json
import os
import re
import runpy
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.utils import ConnectionHandler
from django.test import override_settings

from django_pooled_mysql.pool.options import PoolOptions, parse_pool_option
from tests.support.docs_pages import (
    DOCS,
    EXAMPLES,
    ROOT,
    Block,
    all_blocks,
    blocks,
    load_example,
    page_block,
    shell_commands,
    site_pages,
    split_assignments,
)

BLOCKS = all_blocks()
# Directives the pages may use, and the plain sample languages with their checks.
DIRECTIVES = {"literalinclude", "include", "toctree", "image", "note"}
LANGUAGES = {"sh", "text", "", "sql"}


def _ids(blocks: list[Block]) -> list[str]:
    return [block.where for block in blocks]


# -- what kinds of block the site has -------------------------------------------------------------


@pytest.mark.parametrize("block", BLOCKS, ids=_ids(BLOCKS))
def test_every_block_is_of_a_kind_the_tests_check(block: Block) -> None:
    if block.directive is not None:
        assert block.directive in DIRECTIVES, "%s: unknown directive {%s}" % (
            block.where,
            block.directive,
        )
    else:
        assert block.language in LANGUAGES, (
            "%s: a %r sample written in the page. Put it in a file under docs/examples/ that a "
            "test in tests/unit/test_docs_samples.py checks, and include it with "
            "{literalinclude}." % (block.where, block.language)
        )


INCLUDES = [block for block in BLOCKS if block.directive in ("literalinclude", "include")]


@pytest.mark.parametrize("block", INCLUDES, ids=_ids(INCLUDES))
def test_included_files_exist(block: Block) -> None:
    path = block.included_path()
    assert path.is_file(), "%s includes %s, which does not exist" % (block.where, block.argument)
    assert ROOT in path.parents
    if block.directive == "literalinclude":
        assert "language" in block.options, "%s: say the language (:language:)" % block.where


def test_every_example_file_is_included_by_a_page() -> None:
    included = {block.included_path() for block in INCLUDES}
    # Files only: Python may leave a __pycache__ directory here when it imports a sample.
    examples = {
        path.resolve() for path in EXAMPLES.iterdir() if path.is_file() and path.name != "README.md"
    }
    assert examples - included == set(), "examples no page shows (include them or remove them)"


def test_every_literalinclude_of_python_shows_a_file_these_tests_check() -> None:
    shown = {
        block.included_path().relative_to(ROOT).as_posix()
        for block in INCLUDES
        if block.options.get("language") == "python"
    }
    assert shown <= CHECKED_PYTHON, "Python files shown without a check here: %s" % sorted(
        shown - CHECKED_PYTHON
    )


# -- settings samples --------------------------------------------------------------------------

CHECKED_PYTHON = {
    "docs/examples/settings_pooled.py",
    "docs/examples/settings_pymysql.py",
    "docs/examples/settings_init_command.py",
    "docs/examples/settings_stock.py",
    "docs/examples/settings_from_conn_max_age.py",
    "docs/examples/settings_dbcp.py",
    "docs/examples/settings_from_dbcp.py",
    "docs/examples/settings_roles.py",
    "docs/examples/settings_background_alias.py",
    "docs/examples/settings_replicas.py",
    "docs/examples/settings_logging.py",
    "docs/examples/settings_network_timeouts.py",
    "docs/examples/routers.py",
    "docs/examples/pinned.py",
    "docs/examples/monitoring.py",
    "docs/examples/celery_app.py",
    "docs/examples/settings_prometheus.py",
    "docs/examples/tracing_otel.py",
    "tests/sample_pytest_project/sampleproject/settings.py",
    # Run under uvicorn by tests/ecosystem/test_asgi.py.
    "tests/asgi/app.py",
    "docs/examples/gunicorn_gthread.conf.py",
    "docs/examples/gunicorn_sync.conf.py",
    "docs/examples/gunicorn_warm_up.conf.py",
    # tests/integration/test_holders.py runs it under Gunicorn.
    "docs/examples/gunicorn_holders.conf.py",
    # tests/unit/test_operations_docs.py, and tests/integration/test_prometheus.py runs the
    # last two under Gunicorn.
    "docs/examples/settings_process_groups.py",
    "docs/examples/urls_metrics.py",
    "docs/examples/gunicorn_prometheus.conf.py",
    "testproject/gunicorn.conf.py",
    "testproject/testproject/settings.py",
    "testproject/shop/views.py",
}


def settings_of(name: str, **env: str) -> dict[str, Any]:
    """The module-level names of a settings sample, run with the given environment."""
    with mock.patch.dict(os.environ, env):
        return runpy.run_path(str(EXAMPLES / name))


def wrappers(databases: dict[str, Any]) -> dict[str, Any]:
    """Django's DatabaseWrapper for every alias, built as Django builds them (no connection)."""
    handler = ConnectionHandler(databases)
    return {alias: handler[alias] for alias in databases}


def assert_pooled(databases: dict[str, Any]) -> dict[str, PoolOptions]:
    """Every alias uses this ENGINE with a pool the parser accepts; their options by alias."""
    options = {}
    for alias, wrapper in wrappers(databases).items():
        assert databases[alias]["ENGINE"] == "django_pooled_mysql"
        assert wrapper.pooled, alias
        options[alias] = wrapper.pool_options
    return options


@pytest.mark.parametrize(
    "name",
    [
        "settings_pooled.py",
        "settings_init_command.py",
        "settings_from_conn_max_age.py",
        "settings_from_dbcp.py",
        "settings_background_alias.py",
        "settings_replicas.py",
        "settings_network_timeouts.py",
    ],
)
def test_settings_samples_are_accepted_by_this_engine(name: str) -> None:
    databases = settings_of(name)["DATABASES"]
    pools = {alias: json.dumps(entry["OPTIONS"].get("pool")) for alias, entry in databases.items()}
    assert_pooled(databases)
    # Django fills in the defaults of each entry; the pool settings are read, never changed.
    assert pools == {alias: json.dumps(e["OPTIONS"].get("pool")) for alias, e in databases.items()}


def test_installation_sample_is_the_pool_the_pages_describe() -> None:
    options = assert_pooled(settings_of("settings_pooled.py")["DATABASES"])["default"]
    assert (options.pool_size, options.max_overflow, options.timeout) == (5, 10, 30)
    # installation.md: leaving OPTIONS["pool"] out gives these same defaults.
    assert parse_pool_option("default", True) == options


def test_readme_sample_is_accepted_by_this_engine() -> None:
    readme = ROOT / "README.md"
    (block,) = [block for block in blocks(readme) if block.language == "python"]
    names: dict[str, Any] = {}
    exec(compile(block.body, str(readme), "exec"), names)
    assert_pooled(names["DATABASES"])


def test_init_command_sample_sets_the_time_zone_at_connect() -> None:
    databases = settings_of("settings_init_command.py")["DATABASES"]
    assert assert_pooled(databases)["default"] == PoolOptions()
    params = wrappers(databases)["default"].get_connection_params()
    assert params["init_command"] == "SET time_zone = '+00:00'"
    assert "pool" not in params


def test_network_timeouts_sample_gives_the_driver_its_timeouts_and_the_pool_its_own() -> None:
    databases = settings_of("settings_network_timeouts.py")["DATABASES"]
    options = assert_pooled(databases)["default"]
    assert (options.timeout, options.tcp_keepalive) == (10, 60)
    params = wrappers(databases)["default"].get_connection_params()
    assert (params["connect_timeout"], params["read_timeout"], params["write_timeout"]) == (
        5,
        60,
        60,
    )
    assert "pool" not in params


def test_stock_sample_is_refused_by_this_engine_until_conn_max_age_goes() -> None:
    before = settings_of("settings_stock.py")["DATABASES"]
    stock = wrappers(before)["default"]
    assert not hasattr(stock, "pooled")
    # migrating.md: only changing ENGINE is refused, naming the option to use instead.
    switched = {"default": {**before["default"], "ENGINE": "django_pooled_mysql"}}
    # Refused at first use (the wrapper itself is built, so that `manage.py check --database`
    # can report it as django_pooled_mysql.E002 rather than crash).
    refused = wrappers(switched)["default"]
    with pytest.raises(ImproperlyConfigured, match=r"CONN_MAX_AGE.*max_lifetime"):
        refused.get_connection_params()  # the first thing connect() does
    assert [m.id for m in refused.validation.check()] == ["django_pooled_mysql.E002"]
    after = settings_of("settings_from_conn_max_age.py")["DATABASES"]["default"]
    assert "CONN_MAX_AGE" not in after
    assert after["OPTIONS"]["charset"] == before["default"]["OPTIONS"]["charset"]
    assert after["CONN_HEALTH_CHECKS"] is True
    assert_pooled({"default": after})


# django-db-connection-pool 1.2.6's POOL_OPTIONS (dj_db_conn_pool/core/__init__.py,
# PoolContainer.pool_default_params, upper-cased) and what migrating.md maps each to.
DBCP_DEFAULTS = {
    "POOL_SIZE": 10,
    "MAX_OVERFLOW": 10,
    "TIMEOUT": 30,
    "RECYCLE": 900,
    "PRE_PING": True,
    "ECHO": False,
}
DBCP_TO_OURS = {
    "POOL_SIZE": "pool_size",
    "MAX_OVERFLOW": "max_overflow",
    "TIMEOUT": "timeout",
    "RECYCLE": "recycle",
    "PRE_PING": "pre_ping",
    "ECHO": None,
}


def test_dbcp_sample_maps_each_pool_option_as_the_migrating_page_says() -> None:
    before = settings_of("settings_dbcp.py")["DATABASES"]["default"]
    assert before["ENGINE"] == "dj_db_conn_pool.backends.mysql"
    assert before["POOL_OPTIONS"] == DBCP_DEFAULTS
    after = settings_of("settings_from_dbcp.py")["DATABASES"]["default"]
    assert "POOL_OPTIONS" not in after
    pool = after["OPTIONS"]["pool"]
    expected = {
        ours: before["POOL_OPTIONS"][theirs] for theirs, ours in DBCP_TO_OURS.items() if ours
    }
    assert pool == expected
    assert_pooled({"default": after})
    page = (DOCS / "migrating.md").read_text()
    for theirs, ours in DBCP_TO_OURS.items():
        row = next(line for line in page.split("\n") if line.startswith("| `%s`" % theirs))
        assert ("`%s`" % ours if ours else "no equivalent") in row, row


@pytest.mark.parametrize("role", ["web", "celery-prefork", "celery-threads", "celery-gevent"])
def test_roles_sample_sizes_each_kind_of_process(role: str) -> None:
    names = settings_of("settings_roles.py", APP_ROLE=role)
    databases = names["DATABASES"]
    options = assert_pooled(databases)["default"]
    assert databases["default"]["OPTIONS"]["pool"] == names["POOL_BY_ROLE"][role]
    # tests/ecosystem/test_celery.py runs a worker of each Celery role with these settings.
    assert options.max_connections == sum(
        names["POOL_BY_ROLE"][role][k] for k in ("pool_size", "max_overflow")
    )


def test_celery_app_sample_uses_this_engines_fixup() -> None:
    from kombu.utils.imports import symbol_by_name

    from django_pooled_mysql import celery

    module = load_example("celery_app.py")
    assert list(module.app.fixups) == ["django_pooled_mysql.celery:fixup"]
    assert symbol_by_name(module.app.fixups[0]) is celery.fixup


def test_prometheus_sample_keeps_django_prometheus_metrics_on_this_engine() -> None:
    from django_prometheus.db.common import DatabaseWrapperMixin

    from django_pooled_mysql.base import DatabaseWrapper

    databases = settings_of("settings_prometheus.py")["DATABASES"]
    wrapper = wrappers(databases)["default"]
    assert isinstance(wrapper, DatabaseWrapperMixin) and isinstance(wrapper, DatabaseWrapper)
    assert wrapper.pooled and wrapper.pool_options.max_connections == 15
    assert "django_prometheus" in settings_of("settings_prometheus.py")["INSTALLED_APPS"]


def test_opentelemetry_sample_instruments_the_driver() -> None:
    run_isolated(
        "import importlib.util, MySQLdb\n"
        "spec = importlib.util.spec_from_file_location('t', %r)\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "module.instrument()\n"
        "assert hasattr(MySQLdb.connect, '__wrapped__')\n"
        "from django_pooled_mysql.driver.execute import check_connection\n"
        % str(EXAMPLES / "tracing_otel.py")
    )


def test_sample_project_settings_choose_each_engine() -> None:
    path = ROOT / "tests" / "sample_pytest_project" / "sampleproject" / "settings.py"
    for engine, expected in (
        ("pooled", "django_pooled_mysql.prometheus"),
        ("stock", "django_prometheus.db.backends.mysql"),
    ):
        with mock.patch.dict(
            os.environ, {"SAMPLE_ENGINE": engine, "DJANGO_POOLED_MYSQL_TEST_URL": "mysql://u@h:1/"}
        ):
            databases = runpy.run_path(str(path))["DATABASES"]
        assert databases["default"]["ENGINE"] == expected
        if engine == "pooled":
            assert wrappers(databases)["default"].pooled


def test_background_alias_has_a_bounded_pool_of_its_own_on_the_same_database() -> None:
    databases = settings_of("settings_background_alias.py")["DATABASES"]
    options = assert_pooled(databases)
    assert databases["background"]["NAME"] == databases["default"]["NAME"]
    assert databases["background"]["TEST"]["MIRROR"] == "default"
    assert options["background"].max_connections == 2


def test_replica_router_routes_as_the_deployment_page_says() -> None:
    from tests.testapp.models import Author

    names = settings_of("settings_replicas.py")
    assert_pooled(names["DATABASES"])
    (router_path,) = names["DATABASE_ROUTERS"]
    module_name, _, class_name = router_path.rpartition(".")
    assert module_name == "routers"
    router = getattr(load_example("routers.py"), class_name)()
    with override_settings(DATABASE_ROUTERS=[router]):
        assert Author.objects.all().db == "replica"
        assert Author.objects.select_for_update().db == "default"
        assert Author.objects.all()._for_write is False
    assert router.allow_migrate("default", "testapp") is True
    assert router.allow_migrate("replica", "testapp") is False
    assert set(names["DATABASES"]) == {"default", "replica"}


def test_database_samples_define_what_the_integration_tests_call() -> None:
    assert callable(load_example("pinned.py").run_batch)
    monitoring = load_example("monitoring.py")
    stats_keys = set(
        re.findall(r"^\| `([a-z_]+)`", (DOCS / "reference.md").read_text(), flags=re.M)
    )
    # Every key the sample logs is one reference.md documents.
    assert set(monitoring.GAUGES + monitoring.COUNTERS) <= stats_keys


def run_isolated(code: str) -> None:
    """Run Python in a fresh interpreter (for samples that change process-wide state)."""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_pymysql_sample_installs_pymysql_as_a_mysqldb_django_accepts() -> None:
    run_isolated(
        "import runpy, sys\n"
        "runpy.run_path(%r)\n"
        "import pymysql, MySQLdb\n"
        "assert MySQLdb is pymysql\n"
        "from django.conf import settings\n"
        "settings.configure()\n"
        "import django.db.backends.mysql.base  # checks the mysqlclient version\n"
        "import django_pooled_mysql.exceptions as e\n"
        "assert issubclass(e.PoolTimeout, pymysql.OperationalError)\n"
        % str(EXAMPLES / "settings_pymysql.py")
    )


def test_logging_sample_configures_the_package_logger() -> None:
    run_isolated(
        "import logging, logging.config, runpy\n"
        "logging.config.dictConfig(runpy.run_path(%r)['LOGGING'])\n"
        "assert logging.getLogger('django_pooled_mysql').level == logging.INFO\n"
        % str(EXAMPLES / "settings_logging.py")
    )


# -- server configuration samples ------------------------------------------------------------


def top_level_names(path: Path) -> list[str]:
    """Names a Python file assigns or defines at module level (not imports)."""
    names = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign):
            names += [target.id for target in node.targets if isinstance(target, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
        elif isinstance(node, ast.FunctionDef):
            names.append(node.name)
    return [name for name in names if not name.startswith("_")]


@pytest.mark.parametrize(
    "path",
    [
        EXAMPLES / "gunicorn_gthread.conf.py",
        EXAMPLES / "gunicorn_sync.conf.py",
        EXAMPLES / "gunicorn_warm_up.conf.py",
        EXAMPLES / "gunicorn_prometheus.conf.py",
        EXAMPLES / "gunicorn_holders.conf.py",
        ROOT / "testproject" / "gunicorn.conf.py",
    ],
    ids=lambda path: path.name,
)
def test_gunicorn_samples_name_only_real_gunicorn_settings(path: Path) -> None:
    from gunicorn.config import Config

    config = Config()
    values = runpy.run_path(str(path))
    names = top_level_names(path)
    assert "worker_class" in names
    for name in names:
        # Gunicorn itself ignores unknown names in a config file: a typo would go unnoticed.
        assert name in config.settings, "%s: %r is not a Gunicorn setting" % (path.name, name)
        config.set(name, values[name])  # validates the value
    if config.worker_class_str == "gthread":
        # deployment.md: at most `threads` Django connections per worker.
        assert config.threads > 1


# uWSGI options the sample may use (uWSGI's own names; it has hundreds, these are the ones the
# docs explain).
UWSGI_OPTIONS = {
    "module",
    "master",
    "processes",
    "threads",
    "lazy-apps",
    "enable-threads",
    "die-on-term",
}


def test_uwsgi_sample_loads_the_app_after_fork_and_enables_threads() -> None:
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",))
    parser.read(EXAMPLES / "uwsgi.ini")
    assert parser.sections() == ["uwsgi"]
    options = dict(parser["uwsgi"])
    assert set(options) <= UWSGI_OPTIONS, set(options) - UWSGI_OPTIONS
    assert options["lazy-apps"] == "true"
    assert options["enable-threads"] == "true"
    assert re.fullmatch(r"[\w.]+:\w+", options["module"])


# -- text samples ------------------------------------------------------------------------------


def test_pool_timeout_messages_shown_are_the_ones_the_code_produces() -> None:
    from types import SimpleNamespace

    from django_pooled_mysql.pool.waits import Waits

    fake = SimpleNamespace(
        name="'default' (shop@db.internal:3306/shop)",
        options=PoolOptions(),
        stats=lambda: {"pool_size": 5, "max_overflow": 10, "in_use": 15, "idle": 0, "waiting": 3},
    )
    message = Waits(fake).exhausted_message()  # type: ignore[arg-type]
    shown = [
        block for block in BLOCKS if block.language in ("", "text") and "is exhausted" in block.body
    ]
    assert len(shown) >= 2  # reference.md and troubleshooting.md
    for block in shown:
        assert " ".join(block.body.split()) == message, block.where


TEXT_BLOCKS = [
    block for block in BLOCKS if block.directive is None and block.language in ("", "text")
]


# Output of manage.py pool_budget: tests/unit/test_operations_docs.py renders it from the run's
# --json output (docs/examples/pool_budget.json) and compares.
POOL_BUDGET_OUTPUT = "Peak connections, process groups from"
# log_holders()'s output: tests/unit/pool/test_holders.py renders it and compares.
HOLDERS_OUTPUT = "holders in process"


@pytest.mark.parametrize("block", TEXT_BLOCKS, ids=_ids(TEXT_BLOCKS))
def test_text_samples_are_messages_checked_here(block: Block) -> None:
    # Output shown on the site must be checked against the code, as the PoolTimeout message is.
    assert any(
        marker in block.body for marker in ("is exhausted", POOL_BUDGET_OUTPUT, HOLDERS_OUTPUT)
    ), "%s: no test checks this output sample" % block.where


# -- shell samples ----------------------------------------------------------------------------


@cache
def make_targets() -> set[str]:
    """Targets of the Makefile."""
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z-]*):", text, flags=re.M))


@cache
def tool_help(executable: str) -> str:
    """The --help text of a tool installed in the virtualenv."""
    path = Path(sys.executable).with_name(executable)
    found = str(path) if path.exists() else shutil.which(executable)
    assert found, "%s is not installed" % executable
    return subprocess.run(
        [found, "--help"], capture_output=True, text=True, timeout=60, check=True
    ).stdout


@cache
def demo_parser() -> Callable[[list[str]], Any]:
    """testproject/demo/run.py's command-line parser (what DEMO_ARGS reaches)."""
    run = runpy.run_path(str(ROOT / "testproject" / "demo" / "run.py"), run_name="docs_check")
    parse_args: Callable[[list[str]], Any] = run["parse_args"]
    return parse_args


def demo_args(text: str) -> None:
    parse_args = demo_parser()
    argv = text.split()
    if argv == ["--help"]:
        return
    parse_args(argv)


def django_suite_args(text: str) -> None:
    from tests.django_suite.cli import parse_args

    argv = text.split()
    if argv == ["--help"]:
        return
    parse_args(argv)


MAKE_VARIABLES: dict[str, Callable[[str], None] | None] = {
    "DEMO_ARGS": demo_args,
    "DJANGO_SUITE_ARGS": django_suite_args,
    "PYTEST_ARGS": None,
    "BENCH_ARGS": None,
    "LOCK_ARGS": None,
}

PIP_NAMES = {"django-pooled-mysql"}
# What installation.md and scripts/bootstrap.sh ask apt-get for.
APT_PACKAGES = {
    "build-essential",
    "python3-dev",
    "pkg-config",
    "libmariadb-dev",
    "default-libmysqlclient-dev",
}
DJANGO_COMMANDS = {"migrate", "check", "test", "shell", "runserver"}


def url_paths() -> set[str]:
    """The demo project's URL paths."""
    urls = (ROOT / "testproject" / "testproject" / "urls.py").read_text()
    return {"/" + path for path in re.findall(r'path\("([^"]*)"', urls)}


def module_exists(name: str, under: Path) -> bool:
    """Whether a dotted module resolves to a file below ``under`` (or is installed)."""
    relative = Path(*name.split("."))
    if (under / relative).with_suffix(".py").is_file() or (
        under / relative / "__init__.py"
    ).exists():
        return True
    return under == ROOT and importlib.util.find_spec(name) is not None


class ShellSession:
    """Checks the commands of one page's shell samples in order (``cd`` carries over)."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.cwd = ROOT

    def fail(self, tokens: list[str], why: str) -> None:
        pytest.fail("%s: `%s`: %s" % (self.where, " ".join(tokens), why), pytrace=False)

    def check(self, tokens: list[str]) -> None:
        env, command = split_assignments(tokens)
        if not command:
            self.fail(tokens, "nothing to run")
        program, args = command[0], command[1:]
        name = Path(program).name
        if program.startswith((".", "/")) and "/" in program:
            # ../.venv/bin/python and the like: the virtualenv make venv creates.
            venv = Path(os.path.normpath(self.cwd / program))
            if venv.parent != ROOT / ".venv" / "bin":
                self.fail(tokens, "not a program of the repository's .venv")
        for value in env.values():
            self.check_value(tokens, value)
        handler = getattr(self, "check_" + name.replace("-", "_"), None)
        if handler is None:
            self.fail(tokens, "no check for %r in tests/unit/test_docs_samples.py" % name)
        handler(tokens, args)

    def check_value(self, tokens: list[str], value: str) -> None:
        if value.startswith("mysql://") and not re.fullmatch(
            r"mysql://[^@/]*@[\w.]+:\d+/\w*", value
        ):
            self.fail(tokens, "a server URL must look like mysql://user:password@host:port/db")

    def check_make(self, tokens: list[str], args: list[str]) -> None:
        for arg in args:
            name, equals, value = arg.partition("=")
            if equals:
                if name not in MAKE_VARIABLES:
                    self.fail(tokens, "the Makefile reads no variable %s" % name)
                check = MAKE_VARIABLES[name]
                if check is not None:
                    try:
                        check(value)
                    except SystemExit:
                        self.fail(tokens, "%s=%r is refused by its command" % (name, value))
            elif arg not in make_targets():
                self.fail(tokens, "no make target %r" % arg)

    def check_cd(self, tokens: list[str], args: list[str]) -> None:
        (where,) = args
        self.cwd = (self.cwd / where).resolve()
        if not self.cwd.is_dir():
            self.fail(tokens, "no directory %s" % where)

    def check_export(self, tokens: list[str], args: list[str]) -> None:
        for arg in args:
            if not re.match(r"^[A-Z_][A-Z0-9_]*=", arg):
                self.fail(tokens, "export NAME=value")
            self.check_value(tokens, arg.partition("=")[2])

    def check_curl(self, tokens: list[str], args: list[str]) -> None:
        (url,) = args
        match = re.fullmatch(r"http://127\.0\.0\.1:8000(/[^?]*)(\?[\w=&]*)?", url)
        if not match or match.group(1) not in url_paths():
            self.fail(tokens, "not a URL of the demo project (testproject/testproject/urls.py)")

    def check_pip(self, tokens: list[str], args: list[str]) -> None:
        if args[:1] != ["install"]:
            self.fail(tokens, "only pip install is checked")
        extras = set(
            tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
        )
        for requirement in args[1:]:
            match = re.fullmatch(r"([\w-]+)(?:\[([\w,]+)\])?", requirement)
            if not match or match.group(1) not in PIP_NAMES:
                self.fail(tokens, "not this package: %s" % requirement)
            assert match is not None
            if match.group(2) and not set(match.group(2).split(",")) <= extras:
                self.fail(tokens, "no such extra in pyproject.toml")

    def check_sudo(self, tokens: list[str], args: list[str]) -> None:
        self.check(args)

    def check_apt_get(self, tokens: list[str], args: list[str]) -> None:
        packages = [arg for arg in args[1:] if not arg.startswith("-")]
        if args[:1] != ["install"] or not set(packages) <= APT_PACKAGES:
            self.fail(tokens, "packages the docs do not explain: %s" % packages)

    def check_python(self, tokens: list[str], args: list[str]) -> None:
        if args[:1] == ["manage.py"]:
            if not (self.cwd / "manage.py").is_file():
                self.fail(tokens, "no manage.py in %s" % self.cwd)
            command = args[1]
            own = self.cwd / "shop" / "management" / "commands" / (command + ".py")
            # This package's commands, in the projects that install its app (the demo does).
            ours = ROOT / "django_pooled_mysql" / "management" / "commands" / (command + ".py")
            installs_ours = '"django_pooled_mysql"' in _settings_text(self.cwd)
            if (
                command not in DJANGO_COMMANDS
                and not own.is_file()
                and not (ours.is_file() and installs_ours)
            ):
                self.fail(tokens, "no management command %r" % command)
        elif args[:1] == ["-m"]:
            module = args[1]
            if not module_exists(module, self.cwd):
                self.fail(tokens, "no module %s" % module)
            rest = args[2:]
            if module == "tests.support.mariadb_server":
                if rest[:2] != ["run", "--"]:
                    self.fail(tokens, "mariadb_server: run -- COMMAND")
                self.check(rest[2:])
            elif module == "tests.django_suite":
                django_suite_args(" ".join(rest))
        else:
            self.fail(tokens, "only manage.py and -m modules are checked")

    def check_gunicorn(self, tokens: list[str], args: list[str]) -> None:
        self.check_options(tokens, args, "gunicorn")
        if "-c" in args and not (self.cwd / args[args.index("-c") + 1]).is_file():
            self.fail(tokens, "no such configuration file")

    def check_uvicorn(self, tokens: list[str], args: list[str]) -> None:
        self.check_options(tokens, args, "uvicorn")
        app_dir = self.cwd / args[args.index("--app-dir") + 1] if "--app-dir" in args else self.cwd
        (app,) = [arg for arg in args if ":" in arg]
        module = app.partition(":")[0]
        if not module_exists(module, app_dir):
            self.fail(tokens, "no module %s under %s" % (module, app_dir))

    def check_options(self, tokens: list[str], args: list[str], tool: str) -> None:
        help_text = tool_help(tool)
        for arg in args:
            if arg.startswith("-") and not re.search(
                r"(^|[\s,])%s([\s=,]|$)" % re.escape(arg.split("=")[0]), help_text, re.M
            ):
                self.fail(tokens, "%s has no option %s" % (tool, arg))


def _settings_text(project: Path) -> str:
    """The settings module of a Django project directory (the demo's layout), or ''."""
    path = project / project.name / "settings.py"
    return path.read_text() if path.is_file() else ""


def shell_pages() -> Iterator[Path]:
    yield from (page for page in site_pages() if any(b.language == "sh" for b in blocks(page)))
    yield ROOT / "README.md"


@pytest.mark.parametrize("page", list(shell_pages()), ids=lambda page: page.name)
def test_shell_samples_name_only_what_exists(page: Path) -> None:
    session = ShellSession(str(page.relative_to(ROOT)))
    for block in blocks(page):
        if block.language == "sh":
            session.where = block.where
            for tokens in shell_commands(block.body):
                session.check(tokens)


def test_readme_keeps_the_two_commands_on_top_and_links_the_site() -> None:
    readme = (ROOT / "README.md").read_text()
    first = next(block for block in blocks(ROOT / "README.md"))
    assert [tokens[:2] for tokens in shell_commands(first.body)] == [
        ["make", "demo"],
        ["make", "test"],
    ]
    assert "make docs" in readme
    for page in site_pages():
        if page.parent == DOCS and page.name != "index.md":
            assert "docs/%s" % page.name in readme, "README.md does not link %s" % page.name


def test_tutorial_names_the_commands_its_integration_test_runs() -> None:
    # tests/integration/test_docs_samples.py runs these very commands.
    block = page_block("tutorial.md", "sh", "manage.py migrate")
    commands = [split_assignments(tokens)[1] for tokens in shell_commands(block.body)]
    assert ["../.venv/bin/python", "manage.py", "migrate"] in commands
    assert ["../.venv/bin/python", "manage.py", "seed"] in commands
    assert ["../.venv/bin/gunicorn", "-c", "gunicorn.conf.py"] in commands


# -- reference tables kept in step with the code ----------------------------------------------


def table_rows(page: str, first_cell: str) -> dict[str, list[str]]:
    """Rows of the page's tables whose first cell is a backticked name, by that name."""
    rows = {}
    for line in (DOCS / page).read_text().split("\n"):
        match = re.match(r"^\| `%s` \|" % first_cell, line)
        if match:
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            rows[match.group(1)] = cells
    return rows


def test_configuration_reference_documents_every_pool_option_with_its_default() -> None:
    import dataclasses

    fields = {field.name: field.default for field in dataclasses.fields(PoolOptions)}
    options_table = table_rows("configuration.md", r"([a-z_]+)")
    documented = {name: cells for name, cells in options_table.items() if len(cells) == 4}
    assert set(documented) == set(fields), "configuration.md's option table vs options.py"
    for name, (_, kind, default, meaning) in documented.items():
        assert ast.literal_eval(default.strip("`")) == fields[name], name
        assert kind and meaning
    # ... and in the table of the same settings in other pools, with its default.
    elsewhere = table_rows("configuration.md", r"([a-z_]+)=[^`]+")
    assert set(elsewhere) == set(fields), "configuration.md's 'elsewhere' table vs options.py"
    for name, cells in elsewhere.items():
        assert ast.literal_eval(cells[0].strip("`").partition("=")[2]) == fields[name], cells[0]
        assert len(cells) == 5 and all(cells), name


def test_monitoring_page_names_every_pool_stats_key() -> None:
    from django_pooled_mysql.pool import ConnectionPool

    keys = set(ConnectionPool("'docs'", lambda timeout: None, PoolOptions()).stats())
    page = (DOCS / "monitoring.md").read_text()
    section = page[page.index("## The pool's figures") : page.index("Two ways to read them")]
    assert set(re.findall(r"`([a-z_]+)`", section)) - {"alias", "default"} == keys
