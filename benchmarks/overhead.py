"""Per-statement cost of this ENGINE against the stock backend with a persistent connection.

Both run in one process on one database, in interleaved rounds (A, B, A, B, ...), so that CPU
placement and server warm-up hit both alike. Prints microseconds per operation and the ratio.

    python scripts/mariadb_server.py run -- python benchmarks/overhead.py [--rounds 7]

(`make bench` does this.) Pin the process for steadier numbers: ``taskset -c 0 ...``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import django
from django.conf import settings


def configure(engine_options: dict[str, object]) -> None:
    from tests.settings import server_from_url

    server = server_from_url(os.environ["DJANGO_POOLED_MYSQL_TEST_URL"])
    common = {"NAME": "pooled_bench", **server}
    settings.configure(
        DATABASES={
            "default": {"ENGINE": "django_pooled_mysql", **common, "OPTIONS": engine_options},
            "stock": {"ENGINE": "django.db.backends.mysql", **common, "CONN_MAX_AGE": None},
        },
        INSTALLED_APPS=["django.contrib.contenttypes", "tests.testapp"],
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()


def prepare() -> None:
    import MySQLdb
    from django.db import connections

    from tests.settings import server_from_url
    from tests.testapp.models import Author, Book

    server = server_from_url(os.environ["DJANGO_POOLED_MYSQL_TEST_URL"])
    admin = MySQLdb.connect(
        host=server["HOST"],
        port=int(server["PORT"]),
        user=server["USER"],
        passwd=server["PASSWORD"],
    )
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

    def atomic_two_inserts() -> object:
        with transaction.atomic(using=alias):
            Author.objects.using(alias).create(name="a")
            Author.objects.using(alias).create(name="b")

    return {
        "ORM get(pk=...)": orm_get,
        "ORM 20-row list": orm_list,
        "cursor SELECT 1": select_1,
        "atomic() + 2 inserts": atomic_two_inserts,
    }


def time_per_call(func: Callable[[], object], seconds: float) -> tuple[float, float]:
    """Wall-clock and client-CPU microseconds per call, running func for about `seconds`.

    The client CPU time is what this ENGINE adds; wall-clock time also includes the round trip,
    which on a shared 2-CPU machine varies with where the scheduler puts the server's threads.
    """
    calls = 0
    started = time.perf_counter()
    cpu_started = time.process_time()
    deadline = started + seconds
    while True:
        for _ in range(50):
            func()
        calls += 50
        now = time.perf_counter()
        if now >= deadline:
            cpu = time.process_time() - cpu_started
            return (now - started) / calls * 1e6, cpu / calls * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.5, help="per operation per round")
    parser.add_argument("--driver", choices=["mysqlclient", "pymysql"], default="mysqlclient")
    args = parser.parse_args()
    if args.driver == "pymysql":
        import pymysql

        pymysql.version_info = (2, 2, 7, "final", 0)
        pymysql.install_as_MySQLdb()
    configure({"pool": {"pool_size": 5, "max_overflow": 0}})
    prepare()
    engines = {"pooled": operations("default"), "stock": operations("stock")}
    names = list(engines["stock"])
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for func in [*engines["pooled"].values(), *engines["stock"].values()]:
        time_per_call(func, 0.2)  # warm-up
    for _ in range(args.rounds):
        for name in names:
            for engine in ("stock", "pooled"):
                cost = time_per_call(engines[engine][name], args.seconds)
                samples.setdefault((engine, name), []).append(cost)
    print(
        "driver=%s python=%s django=%s rounds=%d (medians)"
        % (args.driver, sys.version.split()[0], django.__version__, args.rounds)
    )
    print(
        "%-22s %9s %9s %7s | %12s %12s %7s"
        % ("operation", "stock", "pooled", "ratio", "stock CPU", "pooled CPU", "ratio")
    )
    for name in names:
        stock = [statistics.median(s[i] for s in samples[("stock", name)]) for i in (0, 1)]
        pooled = [statistics.median(s[i] for s in samples[("pooled", name)]) for i in (0, 1)]
        print(
            "%-22s %9.1f %9.1f %6.3fx | %12.1f %12.1f %6.3fx"
            % (
                name,
                stock[0],
                pooled[0],
                pooled[0] / stock[0],
                stock[1],
                pooled[1],
                pooled[1] / stock[1],
            )
        )
    print("(microseconds per operation: wall-clock, then the client process's CPU time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
