"""``manage.py pool_budget``: the servers' connection limits against what the pools can open.

Connects to every pooled alias and prints the server's limits and current use, then the peak
each process group can reach per alias, the totals against ``max_connections`` and each
account's limit (with the headroom), and sizes that fit. Exits with status 1 when a peak is over
a limit. docs/operations.md shows a run.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connections

from ... import budget, checks
from ...server import ServerFacts, read_server_facts


class Command(BaseCommand):
    """Size the pools against the servers' connection limits."""

    help = (
        "Connect to every pooled alias and compare the peak the process groups' pools can reach "
        "with the server's max_connections and each account's max_user_connections. Exit "
        "status 1 when over a limit."
    )
    # The checks would run the server checks of every alias first; this command does that work.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        """--group, --reserve, --json."""
        parser.add_argument(
            "--group",
            action="append",
            default=[],
            metavar="NAME:processes=N[,hosts=N][,max_open=N][,max_open.ALIAS=N]",
            help="A process group to count (repeat for several), instead of those of "
            "settings.DJANGO_POOLED_MYSQL['process_groups']: processes per host, hosts "
            "(default 1), and the connections per process if not the pool's pool_size + "
            "max_overflow (for every alias, or by alias; 0 for an alias the group does not use).",
        )
        parser.add_argument(
            "--reserve",
            type=int,
            default=None,
            help="Connections to keep free for everything else (migrations, cron jobs, a "
            "shell, monitoring); default: settings.DJANGO_POOLED_MYSQL['reserve'], else 0.",
        )
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        """Gather, compute, print; SystemExit(1) when over a limit."""
        report = build_report(options["group"], options["reserve"])
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self.stdout.write(budget.render_text(report), ending="")
        if report["over"]:
            raise SystemExit(1)


def build_report(group_arguments: list[str], reserve: int | None) -> dict[str, Any]:
    """The report of every pooled alias's server (the --json output)."""
    databases = settings.DATABASES
    setting = getattr(settings, budget.SETTING, None)
    errors = [
        message
        for message in checks.settings_messages(databases, setting, os.environ)
        if message.is_serious()
    ]
    if group_arguments and errors and all(m.id == "django_pooled_mysql.E003" for m in errors):
        errors = []  # the command line replaces the setting's process groups
    if errors:
        raise CommandError(
            "The settings must be fixed first:\n%s"
            % "\n".join("%s: %s" % (message.id, message.msg) for message in errors)
        )
    aliases = checks.pooled_aliases(databases)
    if not aliases:
        raise CommandError("No alias of DATABASES uses this ENGINE with a pool.")
    try:
        if group_arguments:
            names = [alias.alias for alias in aliases]
            reserve_setting = setting.get(budget.RESERVE_KEY, 0) if isinstance(setting, dict) else 0
            groups = budget.Groups(
                tuple(budget.parse_group_argument(text, names) for text in group_arguments),
                budget.parse_reserve(reserve_setting, "%s['reserve']" % budget.SETTING),
                "the command line",
            )
        else:
            groups = checks.process_groups(databases, setting, os.environ)
        if reserve is not None:
            groups = dataclasses.replace(groups, reserve=budget.parse_reserve(reserve, "--reserve"))
    except budget.BudgetError as exc:
        raise CommandError(str(exc)) from None

    facts: dict[str, ServerFacts] = {}
    for alias in aliases:
        try:
            with connections[alias.alias].cursor() as cursor:
                facts[alias.alias] = read_server_facts(cursor)
        except DatabaseError as exc:
            raise CommandError(
                "DATABASES[%r]: cannot read the server's limits: %s" % (alias.alias, exc),
                returncode=2,
            ) from None

    servers: dict[str, list[budget.PooledAlias]] = defaultdict(list)
    for alias in aliases:
        servers[alias.server].append(alias)
    server_reports = []
    limits = []
    for server, members in servers.items():
        first = facts[members[0].alias]
        limits.append(budget.Limit("max_connections", server, None, first.max_connections))
        accounts: dict[str, list[budget.PooledAlias]] = defaultdict(list)
        for alias in members:
            accounts[alias.user].append(alias)
        account_reports = []
        for user, users_aliases in accounts.items():
            seen = facts[users_aliases[0].alias]
            account_reports.append(
                {
                    "account": seen.account,
                    "user": user,
                    "aliases": [alias.alias for alias in users_aliases],
                    "max_user_connections": seen.max_user_connections,
                    "account_max_user_connections": seen.account_max_user_connections,
                    "effective_limit": seen.user_limit,
                    "wait_timeout": seen.wait_timeout,
                }
            )
            if seen.user_limit is not None:
                limits.append(budget.Limit("max_user_connections", server, user, seen.user_limit))
        processlist, complete = _processlist([facts[alias.alias] for alias in members])
        server_reports.append(
            {
                "server": server,
                "version": first.version,
                "aliases": [alias.alias for alias in members],
                "max_connections": first.max_connections,
                "threads_connected": first.threads_connected,
                "max_used_connections": first.max_used_connections,
                "accounts": account_reports,
                "processlist": [
                    {"user": user, "host": host, "connections": count}
                    for user, host, count in processlist
                ],
                "processlist_complete": complete,
            }
        )

    rows = budget.peaks(groups, aliases)
    totals = budget.against(rows, limits, groups.reserve)
    return {
        "servers": server_reports,
        "process_groups": {
            "source": groups.source,
            "assumed": groups.assumed,
            "groups": [
                {
                    "name": group.name,
                    "processes": group.processes,
                    "hosts": group.hosts,
                    "max_open": group.max_open,
                }
                for group in groups.groups
            ],
        },
        "reserve": groups.reserve,
        "peaks": rows,
        "limits": totals,
        "fits": budget.fits(rows, totals),
        "over": any(total["over"] for total in totals),
    }


def _processlist(views: list[ServerFacts]) -> tuple[list[tuple[str, str, int]], bool]:
    # An account with the PROCESS privilege sees every thread; the others only their own, so
    # without one the report merges what each account saw.
    for view in views:
        if view.processlist_complete:
            return list(view.processlist), True
    merged: dict[tuple[str, str], int] = {}
    for view in views:
        for user, host, count in view.processlist:
            merged[user, host] = max(merged.get((user, host), 0), count)
    rows = [(user, host, count) for (user, host), count in merged.items()]
    rows.sort(key=lambda row: (-row[2], row[0], row[1]))
    return rows, False
