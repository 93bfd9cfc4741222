"""URLs of the demo project."""

from __future__ import annotations

from django.urls import path
from shop import views

urlpatterns = [
    path("health/", views.health, name="health"),
    path("read/", views.read, name="read"),
    path("write/", views.write, name="write"),
    path("db/", views.db_only, name="db"),
    path("pool/", views.pool, name="pool"),
]
