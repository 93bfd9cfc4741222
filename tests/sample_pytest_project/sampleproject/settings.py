"""A small site that runs what Django sites already run: django-debug-toolbar, Sentry and
django-prometheus' database metrics, tested with pytest-django (tests/ecosystem/).

SAMPLE_ENGINE=stock gives the same site on the stock backend (django-prometheus' own MySQL
ENGINE); otherwise this ENGINE with django-prometheus' metrics. The server comes from
DJANGO_POOLED_MYSQL_TEST_URL, as for the rest of the tests.
"""

import os
from urllib.parse import unquote, urlsplit

_server = urlsplit(os.environ["DJANGO_POOLED_MYSQL_TEST_URL"])
POOLED = os.environ.get("SAMPLE_ENGINE", "pooled") == "pooled"

DATABASES = {
    "default": {
        "ENGINE": (
            "django_pooled_mysql.prometheus" if POOLED else "django_prometheus.db.backends.mysql"
        ),
        "NAME": "sample",
        "HOST": _server.hostname,
        "PORT": str(_server.port or 3306),
        "USER": unquote(_server.username or "root"),
        "PASSWORD": unquote(_server.password or ""),
        "OPTIONS": {"pool": {"pool_size": 2, "max_overflow": 2}} if POOLED else {},
        # A test database per backend, so that the two runs never meet.
        "TEST": {"NAME": "test_sample_%s" % ("pooled" if POOLED else "stock")},
    }
}

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "debug_toolbar",
    "django_prometheus",
    "shop",
]
MIDDLEWARE = ["debug_toolbar.middleware.DebugToolbarMiddleware"]
ROOT_URLCONF = "sampleproject.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
STATIC_URL = "static/"
INTERNAL_IPS = ["127.0.0.1"]
# The toolbar is tested here on purpose (its SQL panel lists a request's queries).
DEBUG_TOOLBAR_CONFIG = {"IS_RUNNING_TESTS": False}
SECRET_KEY = "sample-project"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
