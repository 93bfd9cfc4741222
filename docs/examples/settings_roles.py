"""One settings module for every kind of process: each sizes its own pool."""

import os

# Set in each process's start command (see Deployment): web, celery-threads, celery-prefork.
ROLE = os.environ.get("APP_ROLE", "web")

POOL_BY_ROLE = {
    # A Gunicorn gevent worker: sized for the statements in flight at once, not the requests.
    "web": {"pool_size": 10, "max_overflow": 10, "timeout": 10},
    # `celery worker --pool=threads --concurrency=8`: at most 8 Django connections at a time.
    "celery-threads": {"pool_size": 8, "max_overflow": 0, "timeout": 60},
    # `celery worker --pool=prefork`: no "pool" key at all, so this ENGINE's defaults apply.
    # Recent Celery releases call close_pool() around every task when OPTIONS["pool"] is set.
    "celery-prefork": None,
}

OPTIONS: dict[str, object] = {"charset": "utf8mb4"}
if POOL_BY_ROLE[ROLE] is not None:
    OPTIONS["pool"] = POOL_BY_ROLE[ROLE]

DATABASES = {
    "default": {
        "ENGINE": "django_pooled_mysql",
        "NAME": "shop",
        "USER": "shop",
        "PASSWORD": os.environ.get("SHOP_DB_PASSWORD", ""),
        "HOST": "db.internal",
        "PORT": "3306",
        "OPTIONS": OPTIONS,
    }
}
