"""The connection budget's arithmetic (budget.py): the issue's example, the sources of the
process groups, the command line's groups, and sizes that fit every limit."""

from __future__ import annotations

import random

import pytest

from django_pooled_mysql import budget
from django_pooled_mysql.budget import BudgetError, Groups, Limit, PooledAlias, ProcessGroup

SERVER = "db.internal:3306"
DEFAULT = PooledAlias("default", SERVER, "shop", 3, 1)


def test_the_issues_example_adds_up_web_and_jobs_against_the_limit() -> None:
    # web 4 workers x 2 hosts x (3 + 1) = 32, plus jobs 4 x 2 x 4 = 32, against a limit of 100.
    groups = Groups(
        (ProcessGroup("web", 4, 2), ProcessGroup("jobs", 4, 2, max_open=4)), 0, "the test"
    )
    rows = budget.peaks(groups, [DEFAULT])
    assert [(row["group"], row["per_process"], row["peak"]) for row in rows] == [
        ("web", 4, 32),
        ("jobs", 4, 32),
    ]
    (total,) = budget.against(rows, [Limit("max_connections", SERVER, None, 100)], 0)
    assert (total["peak"], total["headroom"], total["over"]) == (64, 36, False)
    (total,) = budget.against(rows, [Limit("max_connections", SERVER, None, 100)], 40)
    assert (total["headroom"], total["over"]) == (-4, True)


def test_an_accounts_limit_counts_only_that_accounts_aliases() -> None:
    other = PooledAlias("reports", SERVER, "reports", 5, 0)
    groups = Groups((ProcessGroup("web", 2),), 0, "the test")
    rows = budget.peaks(groups, [DEFAULT, other])
    totals = budget.against(
        rows,
        [
            Limit("max_connections", SERVER, None, 100),
            Limit("max_user_connections", SERVER, "shop", 8),
        ],
        0,
    )
    assert [(total["peak"], total["over"]) for total in totals] == [(18, False), (8, False)]


def test_max_open_zero_leaves_an_alias_out_of_a_group() -> None:
    replica = PooledAlias("replica", "replica:3306", "shop", 10, 0)
    group = ProcessGroup("jobs", 4, max_open={"replica": 0})
    rows = budget.peaks(Groups((group,), 0, "the test"), [DEFAULT, replica])
    assert [row["alias"] for row in rows] == ["default"]


def test_groups_come_from_the_setting_then_web_concurrency_then_one_process() -> None:
    setting = {"process_groups": {"web": {"processes": 3, "hosts": 2}}, "reserve": 5}
    groups = budget.groups_from_settings(setting, ["default"], {"WEB_CONCURRENCY": "8"})
    assert (groups.groups, groups.reserve) == ((ProcessGroup("web", 3, 2),), 5)
    assert "DJANGO_POOLED_MYSQL" in groups.source
    groups = budget.groups_from_settings({"reserve": 5}, ["default"], {"WEB_CONCURRENCY": "8"})
    assert (groups.groups, groups.source) == ((ProcessGroup("web", 8),), "WEB_CONCURRENCY")
    groups = budget.groups_from_settings(None, ["default"], {})
    assert groups.assumed and groups.groups == (ProcessGroup("one process", 1),)
    assert "WEB_CONCURRENCY" in groups.source


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("web:processes=4", ProcessGroup("web", 4)),
        ("web:processes=4,hosts=2", ProcessGroup("web", 4, 2)),
        ("jobs:processes=4,hosts=2,max_open=4", ProcessGroup("jobs", 4, 2, 4)),
        (
            "jobs:processes=4,max_open.default=2,max_open.replica=0",
            ProcessGroup("jobs", 4, 1, {"default": 2, "replica": 0}),
        ),
    ],
)
def test_group_arguments(text: str, expected: ProcessGroup) -> None:
    assert budget.parse_group_argument(text, ["default", "replica"]) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("web", "expected NAME:processes=N"),
        ("web:4", "is not KEY=INTEGER"),
        ("web:processes=four", "is not KEY=INTEGER"),
        ("web:hosts=2", "needs 'processes'"),
        ("web:processes=0", "must be an integer >= 1"),
        ("web:processes=4,threads=8", "unknown key(s) 'threads'"),
        ("web:processes=4,max_open.nope=1", "not a pooled alias"),
        ("web:processes=4,max_open=1,max_open.default=1", "either for every alias or by alias"),
    ],
)
def test_bad_group_arguments_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(BudgetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        budget.parse_group_argument(text, ["default", "replica"])


def test_sizes_that_fit_shrink_overflow_first() -> None:
    groups = Groups((ProcessGroup("web", 4, 2), ProcessGroup("jobs", 4, 2, 4)), 10, "the test")
    rows = budget.peaks(groups, [DEFAULT])
    totals = budget.against(rows, [Limit("max_user_connections", SERVER, "shop", 50)], 10)
    fits = budget.fits(rows, totals)
    assert fits == [
        {
            "group": "web",
            "alias": "default",
            "per_process": 4,
            "fits": 2,
            "pool_size": 2,
            "max_overflow": 0,
        },
        {"group": "jobs", "alias": "default", "per_process": 4, "fits": 2},
    ]


def test_sizes_that_fit_keep_every_limit_on_random_deployments() -> None:
    chance = random.Random(18)
    for _ in range(2000):
        servers = ["a:3306", "b:3306"]
        aliases = [
            PooledAlias(
                "alias%d" % i,
                chance.choice(servers),
                chance.choice(["shop", "jobs"]),
                chance.randint(1, 20),
                chance.randint(0, 20),
            )
            for i in range(chance.randint(1, 4))
        ]
        groups = Groups(
            tuple(
                ProcessGroup(
                    "g%d" % i,
                    chance.randint(1, 16),
                    chance.randint(1, 4),
                    chance.choice([None, chance.randint(0, 10)]),
                )
                for i in range(chance.randint(1, 3))
            ),
            chance.randint(0, 20),
            "random",
        )
        limits = [
            Limit("max_connections", server, None, chance.randint(1, 2000)) for server in servers
        ]
        limits += [
            Limit("max_user_connections", server, user, chance.randint(1, 500))
            for server in servers
            for user in ("shop", "jobs")
            if chance.random() < 0.5
        ]
        rows = budget.peaks(groups, aliases)
        totals = budget.against(rows, limits, groups.reserve)
        fits = budget.fits(rows, totals)
        sized = [
            dict(row, peak=row["hosts"] * row["processes"] * fit["fits"])
            for row, fit in zip(rows, fits, strict=True)
        ]
        for row, fit in zip(rows, fits, strict=True):
            assert 0 <= fit["fits"] <= row["per_process"]
            if "pool_size" in fit:
                assert fit["pool_size"] + fit["max_overflow"] == fit["fits"]
                assert fit["pool_size"] <= row["pool_size"]
        for total in budget.against(sized, limits, groups.reserve):
            assert total["peak"] <= max(total["value"] - total["reserve"], 0)


def test_server_of_groups_aliases_by_host_and_port() -> None:
    assert budget.server_of({"HOST": "db", "PORT": "3307"}) == "db:3307"
    assert budget.server_of({"HOST": "", "PORT": ""}) == "localhost:3306"
    assert budget.server_of({"HOST": "/run/mysqld/mysqld.sock"}) == "/run/mysqld/mysqld.sock"
    assert budget.server_of({"OPTIONS": {"unix_socket": "/tmp/m.sock"}}) == "/tmp/m.sock"
