"""The sample site's URLs: the shop's page and the toolbar's."""

from debug_toolbar.toolbar import debug_toolbar_urls
from django.urls import path
from shop import views

urlpatterns = [path("products/", views.products), *debug_toolbar_urls()]
