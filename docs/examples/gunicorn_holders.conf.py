"""Gunicorn: `kill -USR2 <worker pid>` logs who holds that worker's pooled connections now.

The snapshot (django_pooled_mysql.holders()) goes to the django_pooled_mysql logger at WARNING.
Send the signal to a worker, never to the master: there USR2 starts a new master (Gunicorn's
binary upgrade). `ps --ppid <master pid>` lists the workers.
"""

import signal
from typing import Any

worker_class = "gthread"
workers = 4
threads = 8


def post_worker_init(worker: Any) -> None:
    """In each worker, once the application is loaded: log the holders on SIGUSR2."""
    import django_pooled_mysql

    django_pooled_mysql.log_holders_on_signal(signal.SIGUSR2)
