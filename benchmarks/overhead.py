"""Per-statement cost of this ENGINE against the stock backend with a persistent connection.

Both run in one process on one database, taking turns every few milliseconds (see time_pair()),
so that CPU speed drift, placement and server warm-up hit both alike, together with a second
stock connection as a control. Prints microseconds per operation and the ratios to stock (the
median over rounds of each round's ratio); the control's ratio shows the noise floor.

    python -m tests.support.mariadb_server run -- python benchmarks/overhead.py [--rounds 7]

(`make bench` does this.) Pin the process for steadier numbers: ``taskset -c 0 ...``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import django
from django.conf import settings

from tests.support import pymysql_shim

# This ENGINE's options in the benchmarks (instructions.py uses them too).
POOL: dict[str, object] = {"pool": {"pool_size": 5, "max_overflow": 0}}


def configure(engine_options: dict[str, object]) -> None:
    from tests.settings import SERVER

    common = {"NAME": "pooled_bench", **SERVER}
    settings.configure(
        DATABASES={
            "default": {"ENGINE": "django_pooled_mysql", **common, "OPTIONS": engine_options},
            "stock": {"ENGINE": "django.db.backends.mysql", **common, "CONN_MAX_AGE": None},
            # The stock backend once more, measured like the others: its ratio to "stock" shows
            # how far this machine's noise alone moves a ratio.
            "control": {"ENGINE": "django.db.backends.mysql", **common, "CONN_MAX_AGE": None},
        },
        INSTALLED_APPS=["django.contrib.contenttypes", "tests.testapp"],
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()


def prepare() -> None:
    from django.db import connections

    from tests.settings import admin_connect
    from tests.testapp.models import Author, Book

    admin = admin_connect()
    admin.cursor().execute("DROP DATABASE IF EXISTS pooled_bench")
    admin.cursor().execute("CREATE DATABASE pooled_bench CHARACTER SET utf8mb4")
    admin.close()
    with connections["stock"].schema_editor() as editor:
        editor.create_model(Author)
        editor.create_model(Book)
    Author.objects.using("stock").bulk_create(
        [Author(name="author %d" % i, age=i % 90) for i in range(200)]
    )


def operations(alias: str) -> dict[str, Callable[[], object]]:
    from django.db import connections, transaction

    from tests.testapp.models import Author

    def orm_get() -> object:
        return Author.objects.using(alias).get(pk=17)

    def orm_list() -> object:
        return list(Author.objects.using(alias).all()[:20])

    def select_1() -> object:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()

    def atomic_two_inserts() -> None:
        with transaction.atomic(using=alias):
            Author.objects.using(alias).create(name="a")
            Author.objects.using(alias).create(name="b")

    return {
        "ORM get(pk=...)": orm_get,
        "ORM 20-row list": orm_list,
        "cursor SELECT 1": select_1,
        "atomic() + 2 inserts": atomic_two_inserts,
    }


def time_pair(funcs: dict[str, Callable[[], object]], seconds: float, batch: int = 20) -> dict:
    """Wall-clock and client-CPU microseconds per call for each engine, measured together.

    The engines take turns in batches of ``batch`` calls (a few milliseconds), the order
    reversed after each turn (ABBA, ABCCBA), for about ``seconds``. A shared VM's speed drifts
    by 10-20 % from one second to the next; turns this short put all engines under the same
    drift, so their ratios are steady even when the absolute numbers are not.
    """
    totals = {engine: [0.0, 0.0] for engine in funcs}
    order = list(funcs)
    calls = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for engine in order:
            func = funcs[engine]
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(batch):
                func()
            totals[engine][0] += time.perf_counter() - wall
            totals[engine][1] += time.process_time() - cpu
        order.reverse()
        calls += batch
    return {
        engine: (wall / calls * 1e6, cpu / calls * 1e6) for engine, (wall, cpu) in totals.items()
    }


Costs = list[tuple[float, float]]  # (wall, CPU) microseconds per round


def ratio(costs: Costs, base: Costs, i: int) -> float:
    """Median over rounds of each round's ratio (the rounds measured both under the same
    conditions)."""
    return statistics.median(c[i] / b[i] for b, c in zip(base, costs, strict=True))


def median(costs: Costs, i: int) -> float:
    """Median over rounds."""
    return statistics.median(c[i] for c in costs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.5, help="per operation per round")
    parser.add_argument("--driver", choices=["mysqlclient", "pymysql"], default="mysqlclient")
    args = parser.parse_args()
    pymysql_shim.use(args.driver)
    configure(POOL)
    prepare()
    engines = {
        "stock": operations("stock"),
        "pooled": operations("default"),
        "control": operations("control"),
    }
    names = list(engines["stock"])
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for name in names:
        time_pair({engine: engines[engine][name] for engine in engines}, 0.2)  # warm-up
    for _ in range(args.rounds):
        for name in names:
            costs = time_pair({engine: engines[engine][name] for engine in engines}, args.seconds)
            for engine, cost in costs.items():
                samples.setdefault((engine, name), []).append(cost)
    print(
        "driver=%s python=%s django=%s rounds=%d (medians)"
        % (args.driver, sys.version.split()[0], django.__version__, args.rounds)
    )
    print(
        "%-22s %8s %8s %7s %8s | %8s %8s %7s %8s"
        % (
            "operation",
            "stock",
            "pooled",
            "ratio",
            "control",
            "stock",
            "pooled",
            "ratio",
            "control",
        )
    )
    for name in names:
        stock, pooled, control = (
            samples[(engine, name)] for engine in ("stock", "pooled", "control")
        )

        print(
            "%-22s %8.1f %8.1f %6.3fx %7.3fx | %8.1f %8.1f %6.3fx %7.3fx"
            % (
                name,
                median(stock, 0),
                median(pooled, 0),
                ratio(pooled, stock, 0),
                ratio(control, stock, 0),
                median(stock, 1),
                median(pooled, 1),
                ratio(pooled, stock, 1),
                ratio(control, stock, 1),
            )
        )
    print(
        "(microseconds per operation: wall-clock, then the client process's CPU time; 'control' "
        "is the stock backend measured against itself: the noise floor of the ratios)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
