"""The Celery app of tests/ecosystem/test_celery.py: tasks that use the ORM, transactions and
select_for_update() on this ENGINE.

CELERY_TEST_BROKER is the private Redis (broker and result backend); CELERY_TEST_FIXUP=celery
keeps Celery's own Django fix-up instead of this package's.
"""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.ecosystem.celery_settings")

FIXUPS = (
    None
    if os.environ.get("CELERY_TEST_FIXUP") == "celery"
    else ["django_pooled_mysql.celery:fixup"]
)
app = Celery(
    "ecosystem",
    broker=os.environ["CELERY_TEST_BROKER"],
    backend=os.environ["CELERY_TEST_BROKER"],
    fixups=FIXUPS,
)
app.conf.update(
    broker_connection_retry_on_startup=True,
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
    result_expires=600,
)


@signals.worker_init.connect
def use_the_database_before_the_fork(**kwargs):
    """The main process queries before it forks its children, as start-up code often does."""
    from tests.testapp.models import Counter

    Counter.objects.get_or_create(name="parent")


def connection_id():
    """The server session that runs this statement (CONNECTION_ID() would pin the connection
    for the whole task)."""
    from django.db import connection

    from tests.support.helpers import session_id

    return session_id(connection)


@app.task
def restock(number):
    """A statement lease, a transaction with a row lock, then a slow statement."""
    from django.db import transaction
    from django.db.models import F

    import django_pooled_mysql
    from tests.testapp.models import Author, Counter

    seen = connection_id()
    with transaction.atomic():
        counter = Counter.objects.select_for_update().get(name="stock")
        Counter.objects.filter(pk=counter.pk).update(value=F("value") + 1)
        Author.objects.create(name="task-%d" % number)
    from django.db import connection

    with connection.cursor() as cursor:
        # Gives tasks a duration, so that they overlap and share the pool's connections.
        cursor.execute("SELECT SLEEP(0.02)")
    return {"pid": os.getpid(), "connection_id": seen, "stats": django_pooled_mysql.pool_stats()}
