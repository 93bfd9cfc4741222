from django.urls import path

from django_pooled_mysql.prometheus import metrics_view

urlpatterns = [
    # Every process's pools (and the rest of prometheus_client's metrics), for Prometheus to
    # scrape. Keep it off the public internet: route it to an internal port or protect it.
    path("metrics/", metrics_view),
]
