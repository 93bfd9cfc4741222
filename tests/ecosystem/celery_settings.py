"""Django settings of the Celery worker under test (tests/ecosystem/test_celery.py).

CELERY_TEST_DB names the database, CELERY_TEST_POOL the worker's pool (JSON); the server is the
test server, as for the rest of the tests.
"""

import json
import os

from tests.settings import pooled_database

DATABASES = {
    "default": pooled_database(
        os.environ["CELERY_TEST_DB"], json.loads(os.environ["CELERY_TEST_POOL"])
    )
}
INSTALLED_APPS = ["django.contrib.contenttypes", "tests.testapp"]
SECRET_KEY = "celery-test"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
