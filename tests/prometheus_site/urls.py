"""The documentation's metrics URL (docs/examples/urls_metrics.py) and two views for the load."""

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


urlpatterns = [
    path("health/", health),
    path("hold/", hold),
    *runpy.run_path(str(_SAMPLE))["urlpatterns"],
]
