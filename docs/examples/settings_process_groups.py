"""Settings that tell this ENGINE's checks and `manage.py pool_budget` which processes connect."""

import os

INSTALLED_APPS = [
    # ... your apps, and this one: `manage.py pool_budget`, and the checks on every `check`.
    "django_pooled_mysql",
]

DATABASES = {
    "default": {
        "ENGINE": "django_pooled_mysql",
        "NAME": "shop",
        "USER": "shop",
        "PASSWORD": os.environ.get("SHOP_DB_PASSWORD", ""),
        "HOST": os.environ.get("SHOP_DB_HOST", "db.internal"),
        "PORT": os.environ.get("SHOP_DB_PORT", "3306"),
        # A web worker: at most 3 + 1 connections.
        "OPTIONS": {"pool": {"pool_size": 3, "max_overflow": 1}},
    }
}

DJANGO_POOLED_MYSQL = {
    "process_groups": {
        # Gunicorn: 4 workers on each of 2 hosts, each with the pool above.
        "web": {"processes": 4, "hosts": 2},
        # Celery: 4 worker processes on each of the same 2 hosts, whose own settings give them
        # 4 connections each (e.g. pool_size=4, max_overflow=0).
        "jobs": {"processes": 4, "hosts": 2, "max_open": 4},
    },
    # Connections left free for migrations, cron jobs, an operator's shell, monitoring.
    "reserve": 10,
}
