"""The connection budget: process groups x pools against the server's limits (no Django).

Every process holds at most ``pool_size + max_overflow`` connections per alias, so a deployment
holds at most, per server, the sum over its *process groups* (web workers, background workers,
...) of ``hosts x processes x (pool_size + max_overflow)`` over the aliases pointing at that
server. This module does that arithmetic for the system checks (checks.py) and for
``manage.py pool_budget``, from the ``DJANGO_POOLED_MYSQL`` setting, the command line or
``WEB_CONCURRENCY``, and renders the command's report (docs/operations.md).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from typing import Any

SETTING = "DJANGO_POOLED_MYSQL"
GROUPS_KEY = "process_groups"
RESERVE_KEY = "reserve"
_SETTING_KEYS = (GROUPS_KEY, RESERVE_KEY)
_GROUP_KEYS = ("processes", "hosts", "max_open")


class BudgetError(ValueError):
    """The process groups or the reserve are not valid (the message says which and why)."""


@dataclasses.dataclass(frozen=True)
class ProcessGroup:
    """Processes of one kind (web workers, background workers) that connect with these settings."""

    name: str
    # Per host.
    processes: int
    hosts: int = 1
    # The most connections one process of the group opens per alias: for every alias (an int) or
    # by alias; an alias not given opens its pool_size + max_overflow.
    max_open: int | Mapping[str, int] | None = None

    @property
    def count(self) -> int:
        """Processes over all hosts."""
        return self.processes * self.hosts

    def explicit_max_open(self, alias: str) -> int | None:
        """The per-process connections this group sets for alias, or None (the pool's bound)."""
        if isinstance(self.max_open, Mapping):
            return self.max_open.get(alias)
        return self.max_open


@dataclasses.dataclass(frozen=True)
class PooledAlias:
    """A pooled alias as the budget sees it: where it connects, as whom, and its pool's bound."""

    alias: str
    # HOST:PORT (or the socket) from the settings: aliases with the same one share a server.
    server: str
    user: str
    pool_size: int
    max_overflow: int

    @property
    def max_open(self) -> int:
        """pool_size + max_overflow: the most connections one process opens for this alias."""
        return self.pool_size + self.max_overflow


@dataclasses.dataclass(frozen=True)
class Groups:
    """The process groups to count, the connections to keep free, and where they came from."""

    groups: tuple[ProcessGroup, ...]
    reserve: int
    # What the numbers come from, for messages: the setting, the command line, WEB_CONCURRENCY,
    # or an assumption of one process.
    source: str
    assumed: bool = False


@dataclasses.dataclass(frozen=True)
class Limit:
    """One of the server's limits: ``max_connections``, or an account's effective limit."""

    name: str  # "max_connections" or "max_user_connections"
    server: str
    account: str | None  # user for the account's limit, None for max_connections
    value: int


# -- the setting, the command line, WEB_CONCURRENCY ------------------------------------------------


def server_of(settings_dict: Mapping[str, Any]) -> str:
    """Where an alias connects, from its settings: aliases with the same answer share a server."""
    options = settings_dict.get("OPTIONS") or {}
    socket = options.get("unix_socket") or (
        settings_dict.get("HOST") if str(settings_dict.get("HOST", "")).startswith("/") else None
    )
    if socket:
        return str(socket)
    host = settings_dict.get("HOST") or options.get("host") or "localhost"
    port = settings_dict.get("PORT") or options.get("port") or 3306
    return "%s:%s" % (host, port)


def _is_int(value: object, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def parse_group(name: str, spec: object, aliases: Iterable[str], where: str) -> ProcessGroup:
    """One process group from its settings dict (``where`` names it in errors)."""
    if not isinstance(spec, Mapping):
        raise BudgetError(
            "%s must be a dict with 'processes' (and 'hosts', 'max_open'), not %r." % (where, spec)
        )
    unknown = sorted(set(spec) - set(_GROUP_KEYS), key=str)
    if unknown:
        raise BudgetError(
            "%s has unknown key(s) %s. Valid keys: %s."
            % (where, ", ".join(map(repr, unknown)), ", ".join(_GROUP_KEYS))
        )
    if "processes" not in spec:
        raise BudgetError(
            "%s needs 'processes': how many processes of it run on each host." % where
        )
    processes, hosts = spec["processes"], spec.get("hosts", 1)
    for key, value in (("processes", processes), ("hosts", hosts)):
        if not _is_int(value, 1):
            raise BudgetError("%s[%r] must be an integer >= 1, not %r." % (where, key, value))
    max_open = spec.get("max_open")
    known = set(aliases)
    if isinstance(max_open, Mapping):
        for alias, value in max_open.items():
            if alias not in known:
                raise BudgetError(
                    "%s['max_open'] names %r, which is not a pooled alias of DATABASES (%s)."
                    % (where, alias, ", ".join(sorted(known)) or "none")
                )
            if not _is_int(value, 0):
                raise BudgetError(
                    "%s['max_open'][%r] must be an integer >= 0, not %r." % (where, alias, value)
                )
        max_open = dict(max_open)
    elif max_open is not None and not _is_int(max_open, 0):
        raise BudgetError(
            "%s['max_open'] must be an integer >= 0 or a dict of them by alias, not %r."
            % (where, max_open)
        )
    return ProcessGroup(str(name), processes, hosts, max_open)


def parse_reserve(value: object, where: str) -> int:
    """The connections to keep free for everything else (migrations, cron, a shell)."""
    if not _is_int(value, 0):
        raise BudgetError("%s must be an integer >= 0, not %r." % (where, value))
    return int(value)  # type: ignore[call-overload]


def groups_from_settings(
    setting: object, aliases: Iterable[str], environ: Mapping[str, str]
) -> Groups:
    """The process groups of the ``DJANGO_POOLED_MYSQL`` setting, else ``WEB_CONCURRENCY``, else
    one process (assumed)."""
    aliases = list(aliases)
    if setting is None:
        setting = {}
    if not isinstance(setting, Mapping):
        raise BudgetError("settings.%s must be a dict, not %r." % (SETTING, setting))
    unknown = sorted(set(setting) - set(_SETTING_KEYS), key=str)
    if unknown:
        raise BudgetError(
            "settings.%s has unknown key(s) %s. Valid keys: %s."
            % (SETTING, ", ".join(map(repr, unknown)), ", ".join(_SETTING_KEYS))
        )
    reserve = parse_reserve(setting.get(RESERVE_KEY, 0), "%s[%r]" % (SETTING, RESERVE_KEY))
    specs = setting.get(GROUPS_KEY)
    if specs is not None:
        where = "%s[%r]" % (SETTING, GROUPS_KEY)
        if not isinstance(specs, Mapping) or not specs:
            raise BudgetError(
                "%s must be a dict of process groups by name, e.g. {'web': {'processes': 4, "
                "'hosts': 2}}, not %r." % (where, specs)
            )
        groups = tuple(
            parse_group(name, spec, aliases, "%s[%r]" % (where, name))
            for name, spec in specs.items()
        )
        return Groups(groups, reserve, "settings.%s" % where)
    concurrency = environ.get("WEB_CONCURRENCY", "").strip()
    if concurrency:
        try:
            processes = int(concurrency)
        except ValueError:
            processes = 0
        if processes < 1:
            raise BudgetError(
                "The WEB_CONCURRENCY environment variable must be an integer >= 1, not %r."
                % concurrency
            )
        return Groups((ProcessGroup("web", processes),), reserve, "WEB_CONCURRENCY")
    return Groups(
        (ProcessGroup("one process", 1),),
        reserve,
        "an assumption of one process (set settings.%s[%r] or WEB_CONCURRENCY)"
        % (SETTING, GROUPS_KEY),
        assumed=True,
    )


def parse_group_argument(text: str, aliases: Iterable[str]) -> ProcessGroup:
    """A ``--group`` argument: ``NAME:processes=N[,hosts=N][,max_open=N][,max_open.ALIAS=N]``."""
    name, colon, rest = text.partition(":")
    where = "--group %s" % text
    if not colon or not name or not rest:
        raise BudgetError(
            "%s: expected NAME:processes=N[,hosts=N][,max_open=N][,max_open.ALIAS=N], "
            "e.g. web:processes=4,hosts=2." % where
        )
    spec: dict[str, Any] = {}
    for item in rest.split(","):
        key, equals, value = item.partition("=")
        key = key.strip()
        try:
            number = int(value)
        except ValueError:
            raise BudgetError("%s: %r is not KEY=INTEGER." % (where, item)) from None
        if not equals:
            raise BudgetError("%s: %r is not KEY=INTEGER." % (where, item))
        if key.startswith("max_open."):
            by_alias = spec.setdefault("max_open", {})
            if not isinstance(by_alias, dict):
                raise BudgetError("%s: give max_open either for every alias or by alias." % where)
            by_alias[key[len("max_open.") :]] = number
        elif key == "max_open" and isinstance(spec.get("max_open"), dict):
            raise BudgetError("%s: give max_open either for every alias or by alias." % where)
        else:
            spec[key] = number
    return parse_group(name, spec, aliases, where)


# -- the arithmetic ------------------------------------------------------------------------------


def peaks(groups: Groups, aliases: Iterable[PooledAlias]) -> list[dict[str, Any]]:
    """Per group and alias: processes, connections per process and the peak they can reach."""
    rows = []
    for group in groups.groups:
        for alias in aliases:
            explicit = group.explicit_max_open(alias.alias)
            per_process = alias.max_open if explicit is None else explicit
            if per_process == 0:
                continue  # this group does not use the alias
            rows.append(
                {
                    "group": group.name,
                    "alias": alias.alias,
                    "server": alias.server,
                    "user": alias.user,
                    "hosts": group.hosts,
                    "processes": group.processes,
                    "per_process": per_process,
                    # Whether per_process is the alias's pool_size + max_overflow (else the
                    # group's max_open).
                    "from_pool": explicit is None,
                    "pool_size": alias.pool_size,
                    "max_overflow": alias.max_overflow,
                    "peak": group.count * per_process,
                }
            )
    return rows


def counts_towards(row: Mapping[str, Any], limit: Limit) -> bool:
    """Whether a row of peaks() counts towards a limit (same server, and account if any)."""
    return row["server"] == limit.server and (limit.account is None or row["user"] == limit.account)


def against(
    rows: list[dict[str, Any]], limits: Iterable[Limit], reserve: int
) -> list[dict[str, Any]]:
    """Each limit with the peak of the rows that count towards it, the reserve and the headroom."""
    result = []
    for limit in limits:
        peak = sum(row["peak"] for row in rows if counts_towards(row, limit))
        headroom = limit.value - reserve - peak
        result.append(
            {
                "limit": limit.name,
                "server": limit.server,
                "account": limit.account,
                "value": limit.value,
                "peak": peak,
                "reserve": reserve,
                "headroom": headroom,
                "over": headroom < 0,
            }
        )
    return result


def fits(rows: list[dict[str, Any]], totals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sizes that fit every limit: each row's connections per process scaled down by the tightest
    limit it counts towards, rounded down (so every limit's sum fits). Overflow goes first: a
    pool keeps its pool_size unless the fitting size is below it."""
    result = []
    for row in rows:
        scale = 1.0
        for total in totals:
            if total["peak"] and counts_towards(row, _limit_of(total)):
                room = max(total["value"] - total["reserve"], 0)
                scale = min(scale, room / total["peak"])
        size = math.floor(row["per_process"] * scale + 1e-9) if scale < 1 else row["per_process"]
        entry = {
            "group": row["group"],
            "alias": row["alias"],
            "per_process": row["per_process"],
            "fits": size,
        }
        if row["from_pool"]:
            pool_size = min(row["pool_size"], size)
            entry.update(pool_size=pool_size, max_overflow=size - pool_size)
        result.append(entry)
    return result


def _limit_of(total: Mapping[str, Any]) -> Limit:
    return Limit(total["limit"], total["server"], total["account"], total["value"])


# -- the report of manage.py pool_budget ---------------------------------------------------------


def _table(headers: list[str], rows: list[list[Any]], right: set[int]) -> list[str]:
    cells = [headers] + [["" if cell is None else str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        lines.append(
            "  ".join(
                cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                for i, cell in enumerate(row)
            ).rstrip()
        )
    return ["  " + line for line in lines]


def describe_fit(fit: Mapping[str, Any]) -> str:
    """The setting of one row of fits(), for people."""
    if fit["fits"] < 1:
        return "none: these processes alone are more than the limit allows"
    if "pool_size" in fit:
        return "pool_size=%d, max_overflow=%d" % (fit["pool_size"], fit["max_overflow"])
    return "max_open=%d" % fit["fits"]


def _limit_label(total: Mapping[str, Any]) -> str:
    if total["account"] is None:
        return "%s max_connections" % total["server"]
    return "%s@%s max_user_connections" % (total["account"], total["server"])


def render_text(report: Mapping[str, Any]) -> str:
    """The report of ``manage.py pool_budget`` (its ``--json`` output) as text for people."""
    lines: list[str] = []
    for server in report["servers"]:
        lines.append(
            "Server %s (%s), aliases %s:"
            % (server["server"], server["version"], ", ".join(server["aliases"]))
        )
        facts: list[list[Any]] = [
            ["max_connections", server["max_connections"]],
            ["Threads_connected", server["threads_connected"]],
            ["Max_used_connections", server["max_used_connections"]],
        ]
        for account in server["accounts"]:
            own = account["account_max_user_connections"]
            facts += [
                ["account %s (%s):" % (account["account"], ", ".join(account["aliases"])), ""],
                ["  max_user_connections (global)", account["max_user_connections"]],
                ["  the account's MAX_USER_CONNECTIONS", "unknown" if own is None else own],
                ["  limit that applies", account["effective_limit"] or "none"],
                ["  wait_timeout", "%d s" % account["wait_timeout"]],
            ]
        lines += _table(["", ""], facts, {1})[1:]
        lines.append(
            "  connections by user and host (processlist%s):"
            % (
                ""
                if server["processlist_complete"]
                else "; this account's own only, no PROCESS privilege"
            )
        )
        lines += [
            "  " + line
            for line in _table(
                ["user", "host", "connections"],
                [[row["user"], row["host"], row["connections"]] for row in server["processlist"]],
                {2},
            )
        ]
        lines.append("")
    groups = report["process_groups"]
    lines.append("Peak connections, process groups from %s:" % groups["source"])
    peak_rows = [
        [
            row["group"],
            row["alias"],
            row["hosts"],
            row["processes"],
            row["per_process"],
            row["peak"],
        ]
        for row in report["peaks"]
    ]
    lines += _table(
        ["group", "alias", "hosts", "processes", "per process", "peak"], peak_rows, {2, 3, 4, 5}
    )
    lines.append("")
    lines.append(
        "Against the limits (reserve: %d connections for everything else):" % report["reserve"]
    )
    limit_rows = [
        [
            _limit_label(total),
            total["value"],
            total["peak"],
            total["reserve"],
            total["headroom"],
            "OVER" if total["over"] else "ok",
        ]
        for total in report["limits"]
    ]
    lines += _table(["limit", "value", "peak", "reserve", "headroom", ""], limit_rows, {1, 2, 3, 4})
    lines.append("")
    if report["over"]:
        lines.append("Sizes that fit every limit:")
        fit_rows = []
        for fit in report["fits"]:
            setting = describe_fit(fit)
            fit_rows.append([fit["group"], fit["alias"], fit["per_process"], fit["fits"], setting])
        lines += _table(["group", "alias", "now", "fits", "setting"], fit_rows, {2, 3})
    else:
        lines.append("Every limit has room for the peak.")
    return "\n".join(lines) + "\n"
