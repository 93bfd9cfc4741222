"""A Django site for tests/integration/test_prometheus.py: this ENGINE under Gunicorn, exporting
its pools' metrics with the documentation's samples."""
