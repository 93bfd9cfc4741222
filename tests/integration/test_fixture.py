"""The test database fixture works: both aliases reach the test server and round-trip a model."""

from __future__ import annotations

import pytest
from django.db import connections

from tests.settings import PREFIX
from tests.testapp.models import Author

pytestmark = pytest.mark.django_db(databases=["default", "other", "stock"])


@pytest.mark.parametrize("alias", ["default", "other", "stock"])
def test_model_round_trips_on_each_alias(alias: str) -> None:
    created = Author.objects.using(alias).create(name="Ada %s" % alias, age=36)
    fetched = Author.objects.using(alias).get(pk=created.pk)
    assert (fetched.name, fetched.age) == ("Ada %s" % alias, 36)


def test_aliases_use_separate_test_databases() -> None:
    names = set()
    for alias in ("default", "other"):
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT DATABASE()")
            names.add(cursor.fetchone()[0])
    assert names == {"test_%s_default" % PREFIX, "test_%s_other" % PREFIX}


def test_stock_alias_is_the_stock_backend_on_the_default_test_database() -> None:
    assert connections["stock"].__class__.__module__ == "django.db.backends.mysql.base"
    with connections["stock"].cursor() as cursor:
        cursor.execute("SELECT DATABASE()")
        assert cursor.fetchone()[0] == "test_%s_default" % PREFIX
