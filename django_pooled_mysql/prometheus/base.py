"""This ENGINE's DatabaseWrapper with django-prometheus' metrics, as its MySQL backend has them.

django-prometheus' ``django_prometheus.db.backends.mysql`` subclasses Django's own MySQL
backend, so choosing it means choosing the stock backend. This module makes the same
combination with this ENGINE's DatabaseWrapper: django-prometheus' ``DatabaseWrapperMixin``
(``django_db_new_connections_total``, ``django_db_new_connection_errors_total``) and its
cursor wrapper (``django_db_execute_total``, ``django_db_execute_many_total``,
``django_db_errors_total``, ``django_db_query_duration_seconds``), labelled with the alias and
vendor ``mysql`` as before. ``django_db_new_connections_total`` counts Django connections
opened (one per request, as with the stock backend and ``CONN_MAX_AGE = 0``), not physical
ones: those are ``pool_stats()["connects"]``.

Needs django-prometheus installed (it is not a dependency of this package).
"""

from __future__ import annotations

from typing import Any

from django.db.backends.mysql import base as mysql_base
from django_prometheus.db.common import DatabaseWrapperMixin, ExportingCursorWrapper

from .. import base


class DatabaseWrapper(DatabaseWrapperMixin, base.DatabaseWrapper):
    """``django_pooled_mysql.base.DatabaseWrapper`` whose cursors count and time queries."""

    # As django_prometheus.db.backends.mysql: Django's MySQL cursor wrapper, counted.
    CURSOR_CLASS = mysql_base.CursorWrapper

    def create_cursor(self, name: Any = None) -> Any:
        """Django's MySQL cursor wrapper around a pooled cursor, exporting metrics."""
        cursor = self.connection.cursor()
        wrapper = ExportingCursorWrapper(self.CURSOR_CLASS, self.alias, self.vendor)
        return wrapper(cursor)
