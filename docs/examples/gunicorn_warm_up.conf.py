"""Gunicorn settings: each worker opens its pool's idle connections before its first request."""

worker_class = "gevent"
workers = 4


def post_worker_init(worker):
    import django_pooled_mysql

    django_pooled_mysql.warm_up("default")
