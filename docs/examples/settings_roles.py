"""One settings module for every kind of process: each sizes its own pool."""

import os

# Set in each process's start command (see Deployment and Celery): web, celery-prefork,
# celery-threads, celery-gevent.
ROLE = os.environ.get("APP_ROLE", "web")

POOL_BY_ROLE = {
    # A Gunicorn gevent worker: sized for the statements in flight at once, not the requests.
    "web": {"pool_size": 10, "max_overflow": 10, "timeout": 10},
    # `celery worker --pool=threads --concurrency=8`: at most 8 Django connections at a time.
    "celery-threads": {"pool_size": 8, "max_overflow": 0, "timeout": 60},
    # `celery worker --pool=prefork --concurrency=4`: each child runs one task at a time.
    # With Celery's app made with fixups=["django_pooled_mysql.celery:fixup"] (Celery), the
    # pool lives from task to task.
    "celery-prefork": {"pool_size": 1, "max_overflow": 1, "timeout": 60},
    # `celery worker --pool=gevent --concurrency=50`: greenlets share the pool, as in a web worker.
    "celery-gevent": {"pool_size": 4, "max_overflow": 2, "timeout": 60},
}

OPTIONS: dict[str, object] = {"charset": "utf8mb4", "pool": POOL_BY_ROLE[ROLE]}

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
