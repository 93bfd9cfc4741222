"""ENGINE ``django_pooled_mysql.prometheus``: this ENGINE with django-prometheus' query metrics.

For sites that used ``django_prometheus.db.backends.mysql``: see docs/monitoring.md.
"""
