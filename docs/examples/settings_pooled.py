DATABASES = {
    "default": {
        "ENGINE": "django_pooled_mysql",
        "NAME": "shop",
        "USER": "shop",
        "PASSWORD": "...",
        "HOST": "db.internal",
        "PORT": "3306",
        # CONN_MAX_AGE must stay 0 (the default): see below.
        "OPTIONS": {
            "pool": {"pool_size": 5, "max_overflow": 10, "timeout": 30},
            # Everything else in OPTIONS goes to MySQLdb.connect() as with the stock backend:
            # "init_command", "isolation_level", "ssl", "charset", ...
        },
    }
}
