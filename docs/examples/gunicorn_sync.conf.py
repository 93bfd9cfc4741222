"""Gunicorn with sync workers: `gunicorn -c gunicorn_sync.conf.py`."""

wsgi_app = "mysite.wsgi:application"
worker_class = "sync"
# One request at a time per worker: pool_size=1 (and a small max_overflow for threads the code
# starts itself) is enough; the pool still bounds and reuses each worker's connections.
workers = 9
preload_app = True
timeout = 30
