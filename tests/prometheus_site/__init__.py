"""A Django site for tests/integration/test_prometheus.py and test_holders.py: this ENGINE under
Gunicorn, with the documentation's samples (metrics, the holders logged on a signal)."""
