# Before: django-db-connection-pool (dj_db_conn_pool), its defaults spelled out.
DATABASES = {
    "default": {
        "ENGINE": "dj_db_conn_pool.backends.mysql",
        "NAME": "shop",
        "USER": "shop",
        "PASSWORD": "...",
        "HOST": "db.internal",
        "PORT": "3306",
        "POOL_OPTIONS": {
            "POOL_SIZE": 10,
            "MAX_OVERFLOW": 10,
            "TIMEOUT": 30,
            "RECYCLE": 900,
            "PRE_PING": True,
            "ECHO": False,
        },
    }
}
