"""The Django app: ``"django_pooled_mysql"`` in ``INSTALLED_APPS`` adds ``manage.py pool_budget``
and runs the settings checks (checks.py) on every ``manage.py check``.

The ENGINE itself needs no app: without it, ``manage.py check --database ALIAS`` still runs all
the checks through the backend's validation (validation.py).
"""

from __future__ import annotations

from django.apps import AppConfig


class DjangoPooledMySQLConfig(AppConfig):
    """Registers the settings checks; the management command is found through the app."""

    name = "django_pooled_mysql"
    verbose_name = "django-pooled-mysql"

    def ready(self) -> None:
        """Register checks.settings_check() (tagged "django_pooled_mysql")."""
        from django.core import checks

        from .checks import TAG, settings_check

        checks.register(settings_check, TAG)
