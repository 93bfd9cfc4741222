"""Views shaped like real traffic: database work around a wait on another service."""

from __future__ import annotations

import os
import random
import time

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Sum
from django.http import HttpRequest, JsonResponse

from .models import Order, Product


def _pause_seconds(request: HttpRequest) -> float:
    value = request.GET.get("pause_ms")
    milliseconds = settings.DEMO_PAUSE_MS if value is None else float(value)
    return max(milliseconds, 0.0) / 1000


def upstream_call(seconds: float) -> None:
    """Stand in for an HTTP call to another service (payments, pricing, search).

    Under Gunicorn's gevent workers ``time.sleep`` is monkey-patched: the greenlet waits and the
    worker serves other requests meanwhile, exactly as it would during a real network call.
    """
    if seconds > 0:
        time.sleep(seconds)


def _product_id() -> int:
    # `manage.py seed` creates products 1..DEMO_PRODUCTS, so no query is needed to pick one.
    return random.randint(1, settings.DEMO_PRODUCTS)


def health(request: HttpRequest) -> JsonResponse:
    """No database: which worker answered, in which mode (the demo waits on this)."""
    return JsonResponse({"pid": os.getpid(), "mode": settings.MODE_NAME})


def read(request: HttpRequest) -> JsonResponse:
    """A product page: the product, a call to another service, then its reviews and sales."""
    product = Product.objects.select_related("category").get(pk=_product_id())
    upstream_call(_pause_seconds(request))
    reviews = list(product.reviews.order_by("-created").values("rating", "body")[:5])
    sales = product.orders.aggregate(orders=Count("id"), units=Sum("quantity"))
    return JsonResponse(
        {
            "product": product.name,
            "category": product.category.name,
            "price": str(product.price),
            "reviews": reviews,
            "orders": sales["orders"],
            "units": sales["units"] or 0,
        }
    )


def write(request: HttpRequest) -> JsonResponse:
    """A checkout: read the product, call a payment service, then update stock and insert."""
    product = Product.objects.only("id", "price").get(pk=_product_id())
    upstream_call(_pause_seconds(request))
    # The transaction holds one connection (this ENGINE pins it) for two statements and COMMIT.
    with transaction.atomic():
        Product.objects.filter(pk=product.pk).update(stock=F("stock") - 1)
        order = Order.objects.create(product=product, quantity=1, total=product.price)
    return JsonResponse({"order": order.pk}, status=201)


def db_only(request: HttpRequest) -> JsonResponse:
    """Pure database work, no wait: the per-statement cost of each mode."""
    product = Product.objects.select_related("category").get(pk=_product_id())
    reviews = list(product.reviews.order_by("-created").values_list("rating", flat=True)[:5])
    orders = product.orders.count()
    return JsonResponse({"product": product.name, "reviews": reviews, "orders": orders})


def pool(request: HttpRequest) -> JsonResponse:
    """This worker's pool counters (this ENGINE only), for looking inside a running demo."""
    stats = connection.pool_stats() if hasattr(connection, "pool_stats") else None
    return JsonResponse({"pid": os.getpid(), "mode": settings.MODE_NAME, "pool": stats})
