# After: this ENGINE. CONN_MAX_AGE goes (it must be 0); the pool's recycle bounds a
# connection's age instead. CONN_HEALTH_CHECKS may stay: it costs nothing here.
DATABASES = {
    "default": {
        "ENGINE": "django_pooled_mysql",
        "NAME": "shop",
        "USER": "shop",
        "PASSWORD": "...",
        "HOST": "db.internal",
        "PORT": "3306",
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            "charset": "utf8mb4",
            "pool": {"pool_size": 5, "max_overflow": 10, "recycle": 3600},
        },
    }
}
