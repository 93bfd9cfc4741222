"""Django system checks for this ENGINE's settings and the server they point at.

The IDs are stable; docs/operations.md lists them with what to change:

- ``django_pooled_mysql.E001``: ``OPTIONS["pool"]`` is not valid.
- ``django_pooled_mysql.E002``: ``CONN_MAX_AGE`` is not 0 while pooling is on.
- ``django_pooled_mysql.E003``: the ``DJANGO_POOLED_MYSQL`` setting (process groups) is not valid.
- ``django_pooled_mysql.W001``: ``ATOMIC_REQUESTS = True`` with a pool.
- ``django_pooled_mysql.W002``: idle connections outlive the server's ``wait_timeout``.
- ``django_pooled_mysql.W003``: the process groups' pools add up to more than the server's
  ``max_connections``.
- ``django_pooled_mysql.W004``: ... more than the account's effective ``max_user_connections``.

E001-E003 and W001 read only the settings: ``settings_check()`` reports them for every alias on
every ``manage.py check`` once ``"django_pooled_mysql"`` is in ``INSTALLED_APPS`` (apps.py), and
the backend's validation (``backend_check()``, through base.py's ``DatabaseValidation``)
reports them for the aliases given to ``manage.py check --database`` (and ``migrate``) when it
is not. W002-W004 ask the server, so only the backend's validation runs them, as Django's own
``mysql.W002``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from . import budget
from .pool.options import PoolOptions, check_conn_max_age, parse_pool_option
from .server import ServerFacts, read_server_facts

ENGINE = "django_pooled_mysql"
TAG = "django_pooled_mysql"
# The documentation site (docs/, `make docs`); the hints link to its sections.
DOCS_URL = "https://django-pooled-mysql.readthedocs.io/en/latest/"

# Pool settings (seconds) that decide how long an idle connection goes without a ping or a
# close (PoolOptions.idle_limit, which W002 holds against the server's wait_timeout), and the
# ones wait_timeout does not concern. Every seconds setting of PoolOptions is in one of the two
# (tests/unit/test_checks.py).
BELOW_WAIT_TIMEOUT = ("keepalive_time", "idle_timeout", "max_lifetime", "recycle")
UNRELATED_TO_WAIT_TIMEOUT = (
    "timeout",
    "ping_after",
    "leak_warning_after",
    "checkout_warning_after",
    # TCP keepalive probes never reach the server's SQL layer: wait_timeout still counts.
    "tcp_keepalive",
)


def docs(page: str, anchor: str) -> str:
    """The address of a section of the documentation site."""
    return "%s%s.html#%s" % (DOCS_URL, page, anchor)


# Each check's docs section (tests/unit/test_checks.py checks that every one exists).
LINKS = {
    "E001": docs("configuration", "pool-options"),
    "E002": docs("configuration", "the-rest-of-databasesalias"),
    "E003": docs("operations", "process-groups"),
    "W001": docs("operations", "atomic_requests"),
    "W002": docs("operations", "wait_timeout"),
    "W003": docs("operations", "the-budget"),
    "W004": docs("operations", "the-budget"),
}


def _id(code: str) -> str:
    return "%s.%s" % (ENGINE, code)


def _see(code: str) -> str:
    return " See %s" % LINKS[code]


def uses_engine(settings_dict: Mapping[str, Any]) -> bool:
    """Whether a DATABASES entry uses this ENGINE."""
    return settings_dict.get("ENGINE") == ENGINE


def pool_options_of(alias: str, settings_dict: Mapping[str, Any]) -> PoolOptions | None:
    """The alias's pool options (None without pooling); ImproperlyConfigured if invalid."""
    options = settings_dict.get("OPTIONS") or {}
    return parse_pool_option(alias, options.get("pool", True))


# -- settings only -------------------------------------------------------------------------------


def alias_messages(alias: str, settings_dict: Mapping[str, Any]) -> list[checks.CheckMessage]:
    """E001, E002 and W001 for one DATABASES entry that uses this ENGINE."""
    where = "DATABASES[%r]" % alias
    try:
        options = pool_options_of(alias, settings_dict)
    except ImproperlyConfigured as exc:
        return [
            checks.Error(
                str(exc),
                hint="Change %s['OPTIONS']['pool'] to True, False, or a dict of the pool "
                "options.%s" % (where, _see("E001")),
                id=_id("E001"),
            )
        ]
    if options is None:
        return []
    messages: list[checks.CheckMessage] = []
    conn_max_age = settings_dict.get("CONN_MAX_AGE", 0)
    try:
        check_conn_max_age(alias, conn_max_age)
    except ImproperlyConfigured:
        messages.append(
            checks.Error(
                "%s['CONN_MAX_AGE'] is %r, but with OPTIONS['pool'] Django's connection holds "
                "no socket between statements: the pool keeps connections open, not Django."
                % (where, conn_max_age),
                hint="Set %s['CONN_MAX_AGE'] to 0 (the default); to bound how long a pooled "
                "connection lives, set %s['OPTIONS']['pool']['max_lifetime'] (seconds).%s"
                % (where, where, _see("E002")),
                id=_id("E002"),
            )
        )
    if settings_dict.get("ATOMIC_REQUESTS"):
        messages.append(
            checks.Warning(
                "%s['ATOMIC_REQUESTS'] is True: every request holds a pooled connection for its "
                "whole length, upstream calls and template rendering included, so the pool "
                "(%d connections per process) bounds the requests in flight instead of the "
                "statements." % (where, options.max_connections),
                hint="Set %s['ATOMIC_REQUESTS'] to False and wrap the views that need a "
                "transaction in transaction.atomic(); or keep it and size "
                "%s['OPTIONS']['pool'] for one connection per request in flight.%s"
                % (where, where, _see("W001")),
                id=_id("W001"),
            )
        )
    return messages


def setting_messages(
    databases: Mapping[str, Mapping[str, Any]], setting: object, environ: Mapping[str, str]
) -> list[checks.CheckMessage]:
    """E003: the DJANGO_POOLED_MYSQL setting (or WEB_CONCURRENCY) cannot be read."""
    try:
        process_groups(databases, setting, environ)
    except budget.BudgetError as exc:
        return [
            checks.Error(
                str(exc),
                hint="Fix settings.%s: %r is a dict of process groups by name, each "
                "{'processes': per host, 'hosts': ..., 'max_open': ...}.%s"
                % (budget.SETTING, budget.GROUPS_KEY, _see("E003")),
                id=_id("E003"),
            )
        ]
    return []


def settings_messages(
    databases: Mapping[str, Mapping[str, Any]],
    setting: object,
    environ: Mapping[str, str],
    aliases: Iterable[str] | None = None,
) -> list[checks.CheckMessage]:
    """Every settings-only check: E001-E003 and W001 (for ``aliases``, default all of them)."""
    messages = []
    for alias in databases if aliases is None else aliases:
        settings_dict = databases.get(alias) or {}
        if uses_engine(settings_dict):
            messages += alias_messages(alias, settings_dict)
    return messages + setting_messages(databases, setting, environ)


def settings_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The settings-only checks, registered by apps.py (every ``manage.py check``)."""
    from django.conf import settings

    return settings_messages(
        settings.DATABASES, getattr(settings, budget.SETTING, None), os.environ
    )


# -- the budget and the server ---------------------------------------------------------------


def pooled_aliases(databases: Mapping[str, Mapping[str, Any]]) -> list[budget.PooledAlias]:
    """Every alias of this ENGINE with a valid pool, as the budget counts it."""
    found = []
    for alias, settings_dict in databases.items():
        if not uses_engine(settings_dict):
            continue
        try:
            options = pool_options_of(alias, settings_dict)
        except ImproperlyConfigured:
            continue  # E001
        if options is None:
            continue
        found.append(
            budget.PooledAlias(
                alias,
                budget.server_of(settings_dict),
                str(settings_dict.get("USER") or ""),
                options.pool_size,
                options.max_overflow,
            )
        )
    return found


def process_groups(
    databases: Mapping[str, Mapping[str, Any]], setting: object, environ: Mapping[str, str]
) -> budget.Groups:
    """The process groups to count (BudgetError if the setting is wrong)."""
    aliases = [alias.alias for alias in pooled_aliases(databases)]
    return budget.groups_from_settings(setting, aliases, environ)


def _describe_groups(groups: budget.Groups) -> str:
    parts = [
        "%s: %d host%s x %d process%s"
        % (
            group.name,
            group.hosts,
            "" if group.hosts == 1 else "s",
            group.processes,
            "" if group.processes == 1 else "es",
        )
        for group in groups.groups
    ]
    return "%s; from %s" % (", ".join(parts), groups.source)


def _describe_fits(fits: list[dict[str, Any]]) -> str:
    return "; ".join(
        "%s/%s: %s" % (fit["group"], fit["alias"], budget.describe_fit(fit)) for fit in fits
    )


def wait_timeout_messages(
    alias: str, options: PoolOptions, facts: ServerFacts
) -> list[checks.CheckMessage]:
    """W002: idle pooled connections outlive the server's wait_timeout (the server closes them
    before the pool pings or closes them)."""
    wait_timeout = facts.wait_timeout
    limit = options.idle_limit
    if not wait_timeout or (limit is not None and limit < wait_timeout):
        return []
    return [
        checks.Warning(
            "Idle connections of DATABASES[%r]'s pool go %s without a ping or a close, but the "
            "server's wait_timeout closes a connection idle for %d s (for this account's "
            "sessions): the pool then finds them closed and reconnects."
            % (alias, "forever" if limit is None else "%s s" % limit, wait_timeout),
            hint="Set DATABASES[%r]['OPTIONS']['pool']['keepalive_time'] below %d (e.g. %d), or "
            "raise the server's wait_timeout.%s"
            % (alias, wait_timeout, max(1, int(wait_timeout * 0.5)), _see("W002")),
            id=_id("W002"),
        )
    ]


def budget_messages(
    alias: str,
    databases: Mapping[str, Mapping[str, Any]],
    groups: budget.Groups,
    facts: ServerFacts,
) -> list[checks.CheckMessage]:
    """W003 and W004: the process groups' pools against the limits of alias's server."""
    aliases = pooled_aliases(databases)
    this = next((entry for entry in aliases if entry.alias == alias), None)
    if this is None:
        return []
    limits = [budget.Limit("max_connections", this.server, None, facts.max_connections)]
    if facts.user_limit is not None:
        limits.append(
            budget.Limit("max_user_connections", this.server, this.user, facts.user_limit)
        )
    rows = budget.peaks(groups, aliases)
    totals = budget.against(rows, limits, groups.reserve)
    messages: list[checks.CheckMessage] = []
    for total in totals:
        if not total["over"]:
            continue
        limit = _limit_of(total, limits)
        counted = [row for row in rows if budget.counts_towards(row, limit)]
        via = sorted({row["alias"] for row in counted})
        fits = budget.fits(counted, [total])
        if limit.account is None:
            code, what = "W003", "the server's max_connections of %d" % limit.value
            raise_it = "raise the server's max_connections"
        else:
            code = "W004"
            what = "the max_user_connections of %d that applies to the account %s" % (
                limit.value,
                facts.account,
            )
            raise_it = "raise the account's limit (ALTER USER ... WITH MAX_USER_CONNECTIONS n)"
        messages.append(
            checks.Warning(
                "The pools of the process groups (%s) can open %d connections to %s through "
                "DATABASES %s, more than %s%s allows."
                % (
                    _describe_groups(groups),
                    total["peak"],
                    limit.server,
                    ", ".join(repr(name) for name in via),
                    what,
                    " less the reserve of %d" % groups.reserve if groups.reserve else "",
                ),
                hint="Lower OPTIONS['pool']['pool_size'] + ['max_overflow'] of those aliases "
                "(sizes that fit: %s), or %s; `manage.py pool_budget` shows the arithmetic.%s"
                % (_describe_fits(fits), raise_it, _see(code)),
                id=_id(code),
            )
        )
    return messages


def _limit_of(total: Mapping[str, Any], limits: list[budget.Limit]) -> budget.Limit:
    return next(
        limit
        for limit in limits
        if (limit.name, limit.server, limit.account)
        == (total["limit"], total["server"], total["account"])
    )


def backend_check(
    connection: Any, django_checks: Callable[[], list[checks.CheckMessage]]
) -> list[checks.CheckMessage]:
    """The backend's validation for one alias: its settings checks (unless the app runs them),
    Django's MySQL checks (``django_checks``), then W002-W004 on the server."""
    from django.apps import apps
    from django.conf import settings

    alias = connection.alias
    # This connection's own settings (Django fills in their defaults) stand for its alias.
    databases = {**settings.DATABASES, alias: connection.settings_dict}
    setting = getattr(settings, budget.SETTING, None)
    if apps.is_installed(ENGINE):
        # apps.py registered settings_check(), which reports these on every run.
        issues: list[checks.CheckMessage] = []
    else:
        issues = settings_messages(databases, setting, os.environ, aliases=[alias])
    if connection.settings_error is not None:
        return issues  # E001 or E002: nothing can connect with these settings
    issues += django_checks()
    if not connection.pooled:
        return issues
    from django.db import DatabaseError

    try:
        with connection.cursor() as cursor:
            facts = read_server_facts(cursor)
    except DatabaseError:
        # A proxy in front of the server may refuse one of the statements: these checks then
        # cannot run, and `migrate` (which runs them) must not fail for it. pool_budget says why.
        return issues
    issues += wait_timeout_messages(alias, connection.pool_options, facts)
    try:
        groups = process_groups(databases, setting, os.environ)
    except budget.BudgetError:
        return issues  # E003
    return issues + budget_messages(alias, databases, groups, facts)
