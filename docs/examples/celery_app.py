"""proj/celery.py: the Celery app, with this ENGINE's fix-up in place of Celery's own."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")

# Celery's Django fix-up, except that this ENGINE's pools live as long as each worker process
# (no close_pool() around every prefork task) and are closed when it stops.
app = Celery("proj", fixups=["django_pooled_mysql.celery:fixup"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
