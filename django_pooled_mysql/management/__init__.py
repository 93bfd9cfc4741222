"""Management commands of django-pooled-mysql (with the app in INSTALLED_APPS)."""
