"""Django's own test cases, for ``manage.py test --parallel 2`` (pytest-django runs them too)."""

import threading

from django.db import connection, transaction
from django.test import TestCase, TransactionTestCase

from shop.checks import record
from shop.models import Product


class ProductTests(TestCase):
    def test_queries_counted_as_with_the_stock_backend(self):
        with self.assertNumQueries(3):
            Product.objects.create(name="a")
            Product.objects.filter(name="a").update(stock=1)
            self.assertEqual(Product.objects.get(name="a").stock, 1)
        record("django")

    def test_atomic_inside_the_test_case(self):
        with self.assertNumQueries(4):  # SAVEPOINT, INSERT, SELECT, RELEASE SAVEPOINT
            with transaction.atomic():
                Product.objects.create(name="b")
                Product.objects.select_for_update().get(name="b")
        record("django")


class CommittingTests(TransactionTestCase):
    def test_commits_are_seen_by_another_connection(self):
        with transaction.atomic():
            Product.objects.create(name="c")
        seen = []

        def read():
            try:
                seen.extend(Product.objects.values_list("name", flat=True))
            finally:
                connection.close()

        thread = threading.Thread(target=read)
        thread.start()
        thread.join(30)
        self.assertEqual(seen, ["c"])
        record("django")


class MoreProductTests(TestCase):
    def test_one(self):
        Product.objects.create(name="d")
        self.assertEqual(Product.objects.count(), 1)
        record("django")

    def test_two(self):
        self.assertEqual(Product.objects.count(), 0)
        record("django")
