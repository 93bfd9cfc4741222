# After: this ENGINE. POOL_OPTIONS goes; its keys become OPTIONS["pool"] (lower case).
DATABASES = {
    "default": {
        "ENGINE": "django_pooled_mysql",
        "NAME": "shop",
        "USER": "shop",
        "PASSWORD": "...",
        "HOST": "db.internal",
        "PORT": "3306",
        "OPTIONS": {
            "pool": {
                "pool_size": 10,
                "max_overflow": 10,
                "timeout": 30,
                "recycle": 900,
                "pre_ping": True,
            },
        },
    }
}
