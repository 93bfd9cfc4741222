import django_pooled_mysql


def connection_ids_in_one_block(using: str = "default") -> list[int]:
    """The server's connection id seen by three statements run inside one pinned() block."""
    ids = []
    with django_pooled_mysql.pinned(using=using) as connection:
        # every statement in here runs on one physical connection, no transaction needed
        for _ in range(3):
            with connection.cursor() as cursor:
                cursor.execute("SELECT CONNECTION_ID()")
                ids.append(cursor.fetchone()[0])
    return ids
