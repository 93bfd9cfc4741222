"""The documentation's metrics URL (docs/examples/urls_metrics.py), two views for the load and
one that waits for a named lock (tests/integration/test_holders.py)."""

from __future__ import annotations

import os
import runpy
import time
from pathlib import Path

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import path

_SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "urls_metrics.py"


def health(request: HttpRequest) -> JsonResponse:
    """No database: which worker answered."""
    return JsonResponse({"pid": os.getpid()})


def hold(request: HttpRequest) -> JsonResponse:
    """One transaction holding its connection for ``ms`` milliseconds (an upstream call inside
    it); under gevent workers the sleep yields, so the pool fills."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT CONNECTION_ID()")
            (connection_id,) = cursor.fetchone()
        time.sleep(float(request.GET.get("ms", "30")) / 1000)
    return JsonResponse({"pid": os.getpid(), "connection": connection_id})


def named_lock(request: HttpRequest) -> JsonResponse:
    """Waits (up to 30 s) for a named lock the test holds: a pin the test can look at."""
    name = request.GET["name"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT GET_LOCK(%s, 30)", [name])  # THE PIN
        (got,) = cursor.fetchone()
        cursor.execute("SELECT RELEASE_LOCK(%s)", [name])
    return JsonResponse({"pid": os.getpid(), "got": got})


urlpatterns = [
    path("health/", health),
    path("hold/", hold),
    path("named_lock/", named_lock),
    *runpy.run_path(str(_SAMPLE))["urlpatterns"],
]
