"""``manage.py seed``: replace the shop's data with a deterministic catalogue."""

from __future__ import annotations

import random
from argparse import ArgumentParser
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from shop.models import Category, Order, Product, Review


class Command(BaseCommand):
    """Create categories, products 1..N (ids the views pick from), reviews and orders."""

    help = "Replace the demo data: products with ids 1..N, their reviews and a few orders."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Sizes of the catalogue."""
        parser.add_argument("--products", type=int, default=settings.DEMO_PRODUCTS)
        parser.add_argument("--categories", type=int, default=20)
        parser.add_argument("--reviews-per-product", type=int, default=8)
        parser.add_argument("--orders-per-product", type=int, default=3)
        parser.add_argument("--seed", type=int, default=8, help="random seed (reproducible data)")

    def handle(self, *args: Any, **options: Any) -> None:
        """Delete the old rows and insert the new ones in one transaction."""
        rng = random.Random(options["seed"])
        now = timezone.now()
        products = options["products"]
        with transaction.atomic():
            # Children first: the foreign keys protect categories and products.
            for model in (Order, Review, Product, Category):
                model.objects.all().delete()
            categories = Category.objects.bulk_create(
                Category(id=i, name="Category %d" % i) for i in range(1, options["categories"] + 1)
            )
            # Explicit ids 1..N: the views pick a random product without asking the database.
            Product.objects.bulk_create(
                (
                    Product(
                        id=i,
                        sku="SKU-%06d" % i,
                        name="Product %d" % i,
                        category=rng.choice(categories),
                        price=Decimal(rng.randint(100, 50_000)) / 100,
                        stock=rng.randint(0, 1_000_000),
                    )
                    for i in range(1, products + 1)
                ),
                batch_size=1000,
            )
            Review.objects.bulk_create(
                (
                    Review(
                        product_id=i,
                        rating=rng.randint(1, 5),
                        body="Review %d of product %d. " % (n, i) * 4,
                        created=now - timedelta(minutes=rng.randint(0, 500_000)),
                    )
                    for i in range(1, products + 1)
                    for n in range(options["reviews_per_product"])
                ),
                batch_size=1000,
            )
            Order.objects.bulk_create(
                (
                    Order(product_id=i, quantity=1, total=Decimal("9.99"), created=now)
                    for i in range(1, products + 1)
                    for _ in range(options["orders_per_product"])
                ),
                batch_size=1000,
            )
        self.stdout.write(
            "Seeded %d categories, %d products, %d reviews, %d orders."
            % (
                Category.objects.count(),
                Product.objects.count(),
                Review.objects.count(),
                Order.objects.count(),
            )
        )
