"""One page that reads and writes, as a request does."""

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from shop.models import Product


def products(request: HttpRequest) -> HttpResponse:
    """Restock the first product in a transaction, then list them all."""
    with transaction.atomic():
        first = Product.objects.select_for_update().order_by("pk").first()
        if first is not None:
            Product.objects.filter(pk=first.pk).update(stock=first.stock + 1)
    names = ", ".join(product.name for product in Product.objects.order_by("pk"))
    return HttpResponse("<html><body>%s</body></html>" % names)
