"""Gunicorn: every worker's pools in one Prometheus scrape (prometheus_client's multiprocess mode).

Start it with PROMETHEUS_MULTIPROC_DIR naming a directory that only this Gunicorn uses, e.g.
    PROMETHEUS_MULTIPROC_DIR=/run/shop/prometheus gunicorn -c gunicorn.conf.py shop.wsgi
"""

import os
from typing import Any

worker_class = "gevent"
workers = 4
worker_connections = 1000
# Each worker imports Django (and prometheus_client) itself, after gevent has patched it.
preload_app = False


def on_starting(server: Any) -> None:
    """In the master, before any worker starts: an earlier run's files would be summed in."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))


def post_worker_init(worker: Any) -> None:
    """In each worker, once the application is loaded: export its pools' figures."""
    from django_pooled_mysql import prometheus

    prometheus.register()


def worker_exit(server: Any, worker: Any) -> None:
    """In a stopping worker: close its pools with a clean COM_QUIT."""
    import django_pooled_mysql

    django_pooled_mysql.close_all_pools()


def child_exit(server: Any, worker: Any) -> None:
    """In the master, once a worker has gone: its gauges leave the sums (its counters stay)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
