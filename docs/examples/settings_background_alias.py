"""A second alias on the same database, so that slow work has a pool of its own."""

SERVER = {
    "NAME": "shop",
    "USER": "shop",
    "PASSWORD": "...",
    "HOST": "db.internal",
    "PORT": "3306",
}

DATABASES = {
    # Requests: many short statements.
    "default": {
        "ENGINE": "django_pooled_mysql",
        **SERVER,
        "OPTIONS": {"pool": {"pool_size": 10, "max_overflow": 5, "timeout": 10}},
    },
    # Reports and exports (Report.objects.using("background")...): at most 2 connections per
    # process, waiting up to 5 minutes for one, never taking the requests' connections.
    "background": {
        "ENGINE": "django_pooled_mysql",
        **SERVER,
        "OPTIONS": {"pool": {"pool_size": 2, "max_overflow": 0, "timeout": 300}},
        # The same database: the test runner must not create a second test database for it.
        "TEST": {"MIRROR": "default"},
    },
}
