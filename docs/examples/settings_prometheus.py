"""A site that used django_prometheus.db.backends.mysql keeps its query metrics."""

DATABASES = {
    "default": {
        # Was "django_prometheus.db.backends.mysql": the same metrics, on this ENGINE.
        "ENGINE": "django_pooled_mysql.prometheus",
        "NAME": "shop",
        "USER": "shop",
        "PASSWORD": "...",
        "HOST": "db.internal",
        "PORT": "3306",
        "OPTIONS": {"pool": {"pool_size": 5, "max_overflow": 10}},
    }
}
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django_prometheus",
    # ... the site's apps
]
