SERVER = {"NAME": "shop", "USER": "shop", "PASSWORD": "...", "PORT": "3306"}

DATABASES = {
    "default": {
        "ENGINE": "django_pooled_mysql",
        **SERVER,
        "HOST": "primary.db.internal",
        "OPTIONS": {"pool": {"pool_size": 5, "max_overflow": 5}},
    },
    # Each alias gets a pool of its own in every process: size them separately.
    "replica": {
        "ENGINE": "django_pooled_mysql",
        **SERVER,
        "HOST": "replica.db.internal",
        "OPTIONS": {"pool": {"pool_size": 10, "max_overflow": 10}},
        "TEST": {"MIRROR": "default"},
    },
}

DATABASE_ROUTERS = ["routers.PrimaryReplicaRouter"]
