"""The system checks (checks.py), each by its exact list of IDs, without a server.

The checks that ask the server (W002-W004) are given its facts here; tests/faults/
test_operations.py runs them against a server with real limits.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from typing import Any

import pytest
from django.db.utils import ConnectionHandler

from django_pooled_mysql import checks
from django_pooled_mysql.budget import Groups, ProcessGroup
from django_pooled_mysql.pool.options import PoolOptions, parse_pool_option
from django_pooled_mysql.server import ServerFacts
from tests.support.docs_pages import DOCS, ROOT, blocks


def entry(pool: Any = True, **extra: Any) -> dict[str, Any]:
    """A DATABASES entry of this ENGINE."""
    return {
        "ENGINE": "django_pooled_mysql",
        "NAME": "shop",
        "USER": "shop",
        "HOST": "db.internal",
        "PORT": "3306",
        "OPTIONS": {"pool": pool},
        **extra,
    }


def ids(messages: list[Any]) -> list[str]:
    return [message.id for message in messages]


def settings_ids(databases: dict[str, Any], setting: Any = None, **environ: str) -> list[str]:
    return ids(checks.settings_messages(databases, setting, environ))


# -- settings only ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("databases", "expected"),
    [
        ({"default": entry()}, []),
        ({"default": entry({"pool_size": 3, "max_overflow": 1})}, []),
        ({"default": entry({"size": 3})}, ["django_pooled_mysql.E001"]),
        ({"default": entry({"pool_size": 0})}, ["django_pooled_mysql.E001"]),
        ({"default": entry("yes")}, ["django_pooled_mysql.E001"]),
        ({"default": entry(CONN_MAX_AGE=60)}, ["django_pooled_mysql.E002"]),
        ({"default": entry(CONN_MAX_AGE=None)}, ["django_pooled_mysql.E002"]),
        ({"default": entry(ATOMIC_REQUESTS=True)}, ["django_pooled_mysql.W001"]),
        (
            {"default": entry(CONN_MAX_AGE=60, ATOMIC_REQUESTS=True)},
            ["django_pooled_mysql.E002", "django_pooled_mysql.W001"],
        ),
        # Pooling off: CONN_MAX_AGE and ATOMIC_REQUESTS mean what they mean for the stock backend.
        ({"default": entry(False, CONN_MAX_AGE=60, ATOMIC_REQUESTS=True)}, []),
        # Another ENGINE is none of these checks' business.
        (
            {"default": {**entry({"size": 1}), "ENGINE": "django.db.backends.mysql"}},
            [],
        ),
        (
            {"default": entry(), "reports": entry({"size": 1}, ATOMIC_REQUESTS=True)},
            ["django_pooled_mysql.E001"],
        ),
    ],
)
def test_settings_checks(databases: dict[str, Any], expected: list[str]) -> None:
    assert settings_ids(databases) == expected


@pytest.mark.parametrize(
    ("setting", "environ"),
    [
        ("web", {}),
        ({"groups": {}}, {}),
        ({"process_groups": {}}, {}),
        ({"process_groups": {"web": 4}}, {}),
        ({"process_groups": {"web": {"hosts": 2}}}, {}),
        ({"process_groups": {"web": {"processes": 0}}}, {}),
        ({"process_groups": {"web": {"processes": 4, "hosts": 1.5}}}, {}),
        ({"process_groups": {"web": {"processes": 4, "workers": 2}}}, {}),
        ({"process_groups": {"web": {"processes": 4, "max_open": -1}}}, {}),
        ({"process_groups": {"web": {"processes": 4, "max_open": {"replica": 1}}}}, {}),
        ({"reserve": -1}, {}),
        (None, {"WEB_CONCURRENCY": "four"}),
        (None, {"WEB_CONCURRENCY": "0"}),
    ],
)
def test_a_process_groups_setting_that_cannot_be_read_is_e003(setting: Any, environ: Any) -> None:
    assert settings_ids({"default": entry()}, setting, **environ) == ["django_pooled_mysql.E003"]


def test_valid_process_groups_settings_pass() -> None:
    setting = {
        "process_groups": {
            "web": {"processes": 4, "hosts": 2},
            "jobs": {"processes": 4, "hosts": 2, "max_open": {"default": 4}},
        },
        "reserve": 10,
    }
    assert settings_ids({"default": entry()}, setting) == []
    assert settings_ids({"default": entry()}, None, WEB_CONCURRENCY="4") == []


def test_every_message_has_a_hint_naming_the_setting_and_a_docs_link() -> None:
    databases = {"default": entry(CONN_MAX_AGE=60, ATOMIC_REQUESTS=True), "bad": entry({"x": 1})}
    messages = checks.settings_messages(databases, {"reserve": -1}, {})
    messages += checks.wait_timeout_messages(
        "default", PoolOptions(keepalive_time=None, max_lifetime=None), facts()
    )
    messages += over_budget_messages()
    assert sorted(ids(messages)) == sorted(
        ["django_pooled_mysql.%s" % code for code in checks.LINKS]
    )
    names = {
        "E001": "DATABASES['bad']['OPTIONS']['pool']",
        "E002": "DATABASES['default']['CONN_MAX_AGE']",
        "E003": "settings.DJANGO_POOLED_MYSQL",
        "W001": "DATABASES['default']['ATOMIC_REQUESTS']",
        "W002": "DATABASES['default']['OPTIONS']['pool']['keepalive_time']",
        "W003": "OPTIONS['pool']['pool_size']",
        "W004": "OPTIONS['pool']['pool_size']",
    }
    for message in messages:
        code = message.id.rpartition(".")[2]
        assert names[code] in message.hint, message
        assert message.hint.endswith("See %s" % checks.LINKS[code]), message


def heading_anchors(page: str) -> set[str]:
    """The anchors MyST gives a page's headings (conf.py: myst_heading_anchors = 3)."""
    from myst_parser.mdit_to_docutils.base import default_slugify

    text = (DOCS / page).read_text()
    fenced = {block.line for block in blocks(DOCS / page)}
    anchors = set()
    for number, line in enumerate(text.split("\n"), 1):
        match = re.match(r"^(#{1,3}) (.*)$", line)
        if match and number not in fenced:
            anchors.add(default_slugify(match.group(2).replace("`", "")))
    return anchors


@pytest.mark.parametrize("code", sorted(checks.LINKS))
def test_each_checks_docs_link_names_a_section_of_the_site(code: str) -> None:
    link = checks.LINKS[code]
    assert link.startswith(checks.DOCS_URL)
    page, _, anchor = link[len(checks.DOCS_URL) :].partition(".html#")
    assert anchor in heading_anchors(page + ".md"), "%s: no such section in %s.md" % (link, page)


def test_every_check_id_is_documented_in_the_operations_page() -> None:
    page = (DOCS / "operations.md").read_text()
    documented = set(re.findall(r"^\| `django_pooled_mysql\.([EW]\d{3})` \|", page, re.M))
    assert documented == set(checks.LINKS)


def test_every_seconds_setting_is_classified_against_wait_timeout() -> None:
    # A new time setting (issue 17's idle timeout, keepalive, lifetime) must say whether the
    # server's wait_timeout makes it useless when not below it (W002).
    seconds = {
        field.name for field in dataclasses.fields(PoolOptions) if "float" in str(field.type)
    }
    classified = set(checks.BELOW_WAIT_TIMEOUT) | set(checks.UNRELATED_TO_WAIT_TIMEOUT)
    assert seconds == classified
    assert not set(checks.BELOW_WAIT_TIMEOUT) & set(checks.UNRELATED_TO_WAIT_TIMEOUT)


# -- against the server's facts ----------------------------------------------------------------


def facts(**changes: Any) -> ServerFacts:
    """What a server with 100 connections, no account limit, and the default wait_timeout says."""
    base = ServerFacts(
        version="10.11.6-MariaDB",
        account="shop@%",
        max_connections=100,
        max_user_connections=0,
        account_max_user_connections=0,
        effective_user_limit=0,
        wait_timeout=28800,
        threads_connected=3,
        max_used_connections=10,
        processlist=(("shop", "10.0.0.5", 3),),
        processlist_complete=False,
    )
    return dataclasses.replace(base, **changes)


@pytest.mark.parametrize(
    ("pool", "wait_timeout", "expected"),
    [
        ({}, 28800, []),
        # keepalive pings keep idle connections alive whatever their lifetime...
        ({"recycle": 28800}, 28800, []),
        # ... unless they come after wait_timeout
        ({}, 100, ["django_pooled_mysql.W002"]),
        # without pings, the floor's connections live until their lifetime
        ({"keepalive_time": None}, 600, ["django_pooled_mysql.W002"]),
        ({"keepalive_time": None, "max_lifetime": 500}, 600, []),
        ({"keepalive_time": None, "max_lifetime": None}, 28800, ["django_pooled_mysql.W002"]),
        # with no floor, idle_timeout closes every idle connection in time
        ({"keepalive_time": None, "min_idle": 0, "idle_timeout": 300}, 600, []),
        ({"keepalive_time": None, "min_idle": 0, "recycle": 28800}, 28800, []),
    ],
)
def test_idle_connections_outliving_wait_timeout_is_w002(
    pool: dict[str, Any], wait_timeout: int, expected: list[str]
) -> None:
    options = parse_pool_option("default", pool)
    assert options is not None
    messages = checks.wait_timeout_messages("default", options, facts(wait_timeout=wait_timeout))
    assert ids(messages) == expected


def groups(*specs: tuple[str, int, int], reserve: int = 0) -> Groups:
    return Groups(tuple(ProcessGroup(name, p, h) for name, p, h in specs), reserve, "the test")


# The issue's example: web 4 workers x 2 hosts x (3 + 1) = 32, jobs 4 x 2 x 4 = 32.
ISSUE_EXAMPLE = {
    "default": entry({"pool_size": 3, "max_overflow": 1}),
}


@pytest.mark.parametrize(
    ("server", "reserve", "expected"),
    [
        ({}, 0, []),
        ({"max_connections": 64}, 0, []),
        ({"max_connections": 63}, 0, ["django_pooled_mysql.W003"]),
        ({"max_connections": 100}, 40, ["django_pooled_mysql.W003"]),
        ({"effective_user_limit": 50}, 0, ["django_pooled_mysql.W004"]),
        ({"effective_user_limit": 64}, 0, []),
        (
            {"max_connections": 60, "effective_user_limit": 50},
            0,
            ["django_pooled_mysql.W003", "django_pooled_mysql.W004"],
        ),
    ],
)
def test_the_budget_over_a_limit_is_w003_or_w004(
    server: dict[str, Any], reserve: int, expected: list[str]
) -> None:
    jobs = ProcessGroup("jobs", 4, 2)
    web = ProcessGroup("web", 4, 2)
    counted = Groups((web, jobs), reserve, "the test")
    messages = checks.budget_messages("default", ISSUE_EXAMPLE, counted, facts(**server))
    assert ids(messages) == expected
    for message in messages:
        assert "64 connections" in message.msg


def test_the_budget_adds_up_aliases_on_one_server_and_leaves_other_servers_out() -> None:
    databases = {
        "default": entry({"pool_size": 3, "max_overflow": 1}),
        # Same server, same account: counted with default.
        "background": entry({"pool_size": 1, "max_overflow": 1}),
        # Another server: not counted against this one's limits.
        "replica": {**entry({"pool_size": 10, "max_overflow": 10}), "HOST": "replica.internal"},
    }
    counted = groups(("web", 4, 2))
    # 8 processes x (4 + 2) = 48.
    assert (
        ids(checks.budget_messages("default", databases, counted, facts(max_connections=48))) == []
    )
    over = checks.budget_messages("default", databases, counted, facts(max_connections=47))
    assert ids(over) == ["django_pooled_mysql.W003"]
    assert "'background', 'default'" in over[0].msg and "replica" not in over[0].msg


def over_budget_messages() -> list[Any]:
    counted = groups(("web", 4, 2), ("jobs", 4, 2), reserve=10)
    server = facts(max_connections=60, effective_user_limit=50)
    return checks.budget_messages("default", ISSUE_EXAMPLE, counted, server)


def test_budget_messages_name_the_groups_and_sizes_that_fit() -> None:
    w003, w004 = over_budget_messages()
    assert "web: 2 hosts x 4 processes" in w003.msg and "reserve of 10" in w003.msg
    # (50 - 10) / 64: every pool scaled to 2 of its 4, overflow first.
    assert "web/default: pool_size=2, max_overflow=0" in w004.hint
    assert "shop@%" in w004.msg


# -- the backend's validation ----------------------------------------------------------------


def test_bad_settings_are_reported_by_the_backends_validation_without_a_crash() -> None:
    handler = ConnectionHandler({"default": entry({"size": 3})})
    wrapper = handler["default"]  # built: the error waits for first use
    assert ids(wrapper.validation.check()) == ["django_pooled_mysql.E001"]
    handler = ConnectionHandler({"default": entry(CONN_MAX_AGE=30, ATOMIC_REQUESTS=True)})
    assert ids(handler["default"].validation.check()) == [
        "django_pooled_mysql.E002",
        "django_pooled_mysql.W001",
    ]


MANAGE = """
import sys
import django
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError

settings.configure(
    INSTALLED_APPS={apps!r},
    DATABASES={{"default": {databases!r}}},
    SECRET_KEY="x",
)
django.setup()
try:
    call_command("check", *{args!r})
except SystemCheckError as exc:
    print(exc)
    sys.exit(1)
"""


def run_check(apps: list[str], args: list[str], databases: dict[str, Any]) -> tuple[int, list[str]]:
    code = MANAGE.format(apps=apps, args=args, databases=databases)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    return result.returncode, re.findall(r"\(([\w.]+\.[EW]\d{3})\)", output)


def test_with_the_app_installed_every_check_run_reports_the_settings() -> None:
    assert run_check(["django_pooled_mysql"], [], entry({"size": 3}, ATOMIC_REQUESTS=True)) == (
        1,
        ["django_pooled_mysql.E001"],
    )
    # --database adds the backend's validation, which leaves the settings to the app's check.
    assert run_check(["django_pooled_mysql"], ["--database", "default"], entry({"size": 3})) == (
        1,
        ["django_pooled_mysql.E001"],
    )


def test_with_only_engine_set_check_database_reports_the_settings() -> None:
    # As Django's mysql.W002: only with --database (plain `check` does not look at backends).
    assert run_check([], [], entry({"size": 3})) == (0, [])
    assert run_check([], ["--database", "default"], entry({"size": 3})) == (
        1,
        ["django_pooled_mysql.E001"],
    )
    assert run_check([], ["--database", "default"], entry(CONN_MAX_AGE=60)) == (
        1,
        ["django_pooled_mysql.E002"],
    )
