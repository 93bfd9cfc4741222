import django_pooled_mysql


def run_batch(statements, using="default"):
    """Run many small statements on one physical connection: one checkout for the whole batch
    instead of one per statement. No transaction: each statement commits on its own."""
    with django_pooled_mysql.pinned(using=using) as connection:
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
