"""Celery's Django fix-up, with this ENGINE's pools kept from task to task (docs/celery.md).

Celery's own fix-up (``celery.fixups.django``) closes every Django connection before and after
each task, which with this ENGINE ends the task's leases as the end of a request does. Since
Celery 5.6 it also calls ``close_pool()`` on every alias whose ``OPTIONS["pool"]`` is set when
the worker uses the prefork pool: Django's PostgreSQL pool (psycopg_pool) cannot cross a
``fork()``, so Celery throws it away around each task. Here that means a new connection, with
its authentication and session set-up, for every task. This ENGINE needs none of it: a forked
child forgets its parent's pools and builds its own (pool/registry.py). So this fix-up is Celery's,
except that for this ENGINE's aliases it

- closes the Django connection around each task but keeps the process's pool;
- does not close the sockets a prefork child inherited (``worker_process_init``): they are
  pointed at /dev/null already at the fork, and a pooled connection has no socket between
  statements to give (its ``fileno()`` raises, connection.py);
- closes the process's pools when a prefork child exits (``worker_process_shutdown``: the child
  leaves with ``os._exit()``, so ``atexit`` never runs there) and when the worker stops
  (``worker_shutdown``), so the server sees a clean ``COM_QUIT`` for each connection.

Other aliases (Django's PostgreSQL pool included) are handled as by Celery's fix-up. Use it in
place of Celery's::

    app = Celery("proj", fixups=["django_pooled_mysql.celery:fixup"])
"""

from __future__ import annotations

import contextlib
from typing import Any

from celery import signals
from celery.fixups import django as celery_django


def _is_pooled(connection: Any) -> bool:
    # This ENGINE's DatabaseWrapper (or a subclass) with OPTIONS["pool"] not False.
    from .base import DatabaseWrapper

    return isinstance(connection, DatabaseWrapper) and connection.pooled


def _close_pools(**kwargs: Any) -> None:
    from .pool.registry import close_pools

    close_pools()


class DjangoWorkerFixup(celery_django.DjangoWorkerFixup):
    """Celery's worker fix-up; this ENGINE's pools live as long as the worker process."""

    def install(self) -> DjangoWorkerFixup:
        """Celery's signal handlers, and closing the pools when a worker process ends."""
        super().install()
        signals.worker_process_shutdown.connect(_close_pools, weak=False)
        signals.worker_shutdown.connect(_close_pools, weak=False)
        return self

    def _maybe_close_db_fd(self, c: Any) -> None:
        if not _is_pooled(c):
            super()._maybe_close_db_fd(c)

    def _close_database(self) -> None:
        """As Celery's, but close_pool() only for aliases that are not this ENGINE's."""
        try:
            connections = self._db.connections.all(initialized_only=True)
        except TypeError:  # Django < 4.1
            connections = self._db.connections.all()
        is_prefork = self._is_prefork() if hasattr(self, "_is_prefork") else False
        for conn in connections:
            try:
                conn.close()
                if _is_pooled(conn):
                    continue
                options = self._settings.DATABASES.get(conn.alias, {}).get("OPTIONS", {})
                if options.get("pool") and is_prefork and hasattr(conn, "close_pool"):
                    with contextlib.suppress(KeyError):
                        conn.close_pool()
            except self.interface_errors:
                pass
            except self.DatabaseError as exc:
                message = str(exc)
                if "closed" not in message and "not connected" not in message:
                    raise


class DjangoFixup(celery_django.DjangoFixup):
    """Celery's Django fix-up, installing the worker fix-up above."""

    @property
    def worker_fixup(self) -> DjangoWorkerFixup:
        """The worker fix-up, made on first use (Django is set up by then)."""
        found = getattr(self, "_worker_fixup", None)
        if found is None:
            found = self._worker_fixup = DjangoWorkerFixup(self.app)
        return found

    @worker_fixup.setter
    def worker_fixup(self, value: DjangoWorkerFixup) -> None:
        self._worker_fixup = value


def fixup(app: Any, env: str = "DJANGO_SETTINGS_MODULE") -> DjangoFixup | None:
    """Install the fix-up if Django is configured (as ``celery.fixups.django.fixup`` does)."""
    import os

    settings_module = os.environ.get(env)
    if settings_module and "django" not in app.loader_cls.lower():
        import django

        celery_django._verify_django_version(django)
        return DjangoFixup(app).install()
    return None
