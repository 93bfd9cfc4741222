"""A minimal ASGI Django app for the ASGI tests: async views calling the ORM via sync_to_async
(thread-sensitive or not) and the async ORM methods.

Configured from the environment: DJANGO_POOLED_MYSQL_TEST_URL (the server), ASGI_TEST_DB (the
database, with a `hits` table), ASGI_TEST_POOL (JSON pool options), ASGI_TEST_THREADS (the
executor size: more threads than pooled connections, as a busy ASGI site has).
"""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import django
from django.conf import settings

from tests.settings import pooled_database

settings.configure(
    DEBUG=False,
    SECRET_KEY="asgi-test",
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["*"],
    DATABASES={
        "default": pooled_database(
            os.environ["ASGI_TEST_DB"], json.loads(os.environ["ASGI_TEST_POOL"])
        )
    },
    INSTALLED_APPS=["tests.testapp"],
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    USE_TZ=True,
)
django.setup()

from asgiref.sync import sync_to_async  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402

executor = ThreadPoolExecutor(max_workers=int(os.environ.get("ASGI_TEST_THREADS", "40")))


def record_hit() -> int:
    """The ORM-side work of one request: a slow read and a write, outside a transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT SLEEP(0.02)")
        cursor.execute("INSERT INTO hits (worker) VALUES (1)")
        last = cursor.lastrowid
    # Never closed: a thread of the executor never sees request_finished, so Django's
    # connection in it stays open. That must not hold a pooled connection.
    return int(last)


async def hit(request: HttpRequest) -> JsonResponse:
    """Async view: ORM work in a worker thread."""
    row_id = await sync_to_async(record_hit, thread_sensitive=False, executor=executor)()
    return JsonResponse({"id": row_id})


def orm_work(tag: str) -> int:
    """ORM work of one request in a worker thread: a write, then a slow read."""
    from tests.testapp.models import Author

    author = Author.objects.create(name=tag)
    with connection.cursor() as cursor:
        cursor.execute("SELECT SLEEP(0.02)")
    return int(author.pk)


async def orm_thread_sensitive(request: HttpRequest) -> JsonResponse:
    """sync_to_async's default: the request's own thread for sync code (Django's, per request)."""
    return JsonResponse({"id": await sync_to_async(orm_work)("sensitive")})


async def orm_thread_insensitive(request: HttpRequest) -> JsonResponse:
    """Any thread of the executor."""
    work = sync_to_async(orm_work, thread_sensitive=False, executor=executor)
    return JsonResponse({"id": await work("insensitive")})


async def async_orm(request: HttpRequest) -> JsonResponse:
    """The async ORM methods: acreate(), aget(), async for."""
    from tests.testapp.models import Author

    author = await Author.objects.acreate(name="async")
    found = await Author.objects.aget(pk=author.pk)
    names = [a.name async for a in Author.objects.filter(pk=found.pk)]
    assert names == ["async"]
    return JsonResponse({"id": found.pk})


async def stats(request: HttpRequest) -> JsonResponse:
    """The pool's counters in this process."""
    import django_pooled_mysql

    return JsonResponse(await sync_to_async(django_pooled_mysql.pool_stats)())


urlpatterns = [
    path("hit", hit),
    path("stats", stats),
    path("orm/sensitive", orm_thread_sensitive),
    path("orm/insensitive", orm_thread_insensitive),
    path("orm/async", async_orm),
]
application = get_asgi_application()
