"""Gunicorn with threaded workers: `gunicorn -c gunicorn_gthread.conf.py`."""

wsgi_app = "mysite.wsgi:application"
worker_class = "gthread"
workers = 4
# At most 8 requests per worker at a time, so at most 8 Django connections per worker: a pool of
# pool_size=4, max_overflow=4 serves them (a thread waiting on anything but MySQL holds none).
threads = 8
# Workers may load the app before the fork: a forked child starts with no pools of its own.
preload_app = True
timeout = 30
