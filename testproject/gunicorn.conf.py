"""Gunicorn settings for the demo: gevent workers, sizes from the environment, fork-safe hooks.

Environment: ``GUNICORN_BIND`` (default 127.0.0.1:8000), ``GUNICORN_WORKERS`` (2),
``GUNICORN_WORKER_CONNECTIONS`` (1000 greenlets per worker), ``GUNICORN_ERRORLOG`` ("-").
"""

from __future__ import annotations

import os
import sys
from typing import Any

# Run from anywhere: the project's packages live beside this file.
chdir = os.path.dirname(os.path.abspath(__file__))
wsgi_app = "testproject.wsgi:application"

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gevent"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
# The default of 2048 queued connections is plenty for the demo's 200 concurrent clients.
backlog = 2048
# Each worker imports Django itself, after gevent has monkey-patched it: with preload_app the
# master would import Django (and create its thread-locals and locks) unpatched, and any
# connection it opened would be shared by every child after fork().
preload_app = False
timeout = 60
graceful_timeout = 5
keepalive = 2
errorlog = os.environ.get("GUNICORN_ERRORLOG", "-")
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# An access log line per request would cost more CPU than some of the views.
accesslog = None
# Gunicorn 24+ opens a control socket at a fixed path under $HOME; two demos (or a demo and
# another Gunicorn) on one machine would fight over it. Older versions ignore this setting.
control_socket_disable = True


def _close_database_connections() -> None:
    # Only if this process has loaded Django's database layer (preload_app, or a hook that
    # touched it): importing it here would defeat the point.
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()
    if "django_pooled_mysql" in sys.modules:
        import django_pooled_mysql

        django_pooled_mysql.close_all_pools()


def pre_fork(server: Any, worker: Any) -> None:
    """In the master: close its connections so no child inherits an open database socket."""
    _close_database_connections()


def post_worker_init(worker: Any) -> None:
    """In a new worker, after the app is loaded: say which database mode it serves."""
    from django.conf import settings

    worker.log.info(
        "worker %s: database mode %s (%s)",
        worker.pid,
        settings.MODE_NAME,
        settings.DATABASES["default"]["ENGINE"],
    )


def worker_exit(server: Any, worker: Any) -> None:
    """In a stopping worker: close the pool's idle connections with a clean COM_QUIT."""
    _close_database_connections()
