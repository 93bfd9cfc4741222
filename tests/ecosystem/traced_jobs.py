"""The workload the tracing tests run with each backend, and how its jobs run at once.

Imported by tests/ecosystem/tracing_workload.py (OpenTelemetry) and apm_workload.py (the APM
agents) after they installed their tracer and configured Django.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from django.db import connections, transaction

from tests.support.helpers import join_all

JOBS = {"main": 1, "threads": 4, "gevent": 4}
# Fewer connections than jobs: the jobs share the pool's connections.
POOL = {"pool_size": 2, "max_overflow": 0}


def configure(name: str) -> None:
    """Django with two aliases on database name: the stock backend ("default") and this ENGINE
    ("pooled")."""
    import django
    from django.conf import settings

    from tests.settings import database

    settings.configure(
        DATABASES={
            "default": {**database(name), "ENGINE": "django.db.backends.mysql", "OPTIONS": {}},
            "pooled": {
                **database(name),
                "ENGINE": "django_pooled_mysql",
                "OPTIONS": {"pool": POOL},
            },
        },
        INSTALLED_APPS=["django.contrib.contenttypes", "tests.testapp"],
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        USE_TZ=True,
    )
    django.setup()


def workload(alias: str, job: int) -> None:
    """Statement leases, a transaction lease with a savepoint, then a session lease."""
    from tests.testapp.models import Author

    connection = connections[alias]
    with connection.cursor() as cursor:
        for i in range(3):
            cursor.execute("SELECT %s", [i])
    author = Author.objects.using(alias).create(name="%s-%d" % (alias, job))
    list(Author.objects.using(alias).filter(pk=author.pk))
    with transaction.atomic(using=alias):
        Author.objects.using(alias).filter(pk=author.pk).update(age=1)
        with transaction.atomic(using=alias):
            Book = author.books.model
            Book.objects.using(alias).create(title="t", author=author)
    with connection.cursor() as cursor:
        cursor.execute("SET @tracing_workload = %s", [job])
        cursor.execute("SELECT @tracing_workload")
        assert cursor.fetchone()[0] == job


def run_jobs(
    alias: str, concurrency: str, traced: Callable[[int], contextlib.AbstractContextManager[Any]]
) -> None:
    """JOBS[concurrency] jobs at once (main thread, threads, or greenlets), each inside
    traced(number) (a root span or transaction of its own) and on its own Django connection."""
    errors: list[BaseException] = []

    def job(number: int) -> None:
        try:
            with traced(number):
                workload(alias, number)
        except BaseException as exc:
            errors.append(exc)
        finally:
            # Outside the job's span, as at the end of a request: what a session reset or a
            # reconnect sends then is not part of what is compared.
            connections[alias].close()

    count = JOBS[concurrency]
    if concurrency == "main":
        job(0)
    elif concurrency == "threads":
        threads = [threading.Thread(target=job, args=(n,)) for n in range(count)]
        for thread in threads:
            thread.start()
        join_all(threads, 60)
    else:
        import gevent

        gevent.joinall([gevent.spawn(job, n) for n in range(count)], timeout=60, raise_error=True)
    if errors:
        raise errors[0]


def warm_up(alias: str) -> None:
    """Both backends' first connection (and the pool's server facts) before what is compared."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")
    connections[alias].close()
