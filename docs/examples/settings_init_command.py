DATABASES = {
    "default": {
        "ENGINE": "django_pooled_mysql",
        "NAME": "shop",
        "OPTIONS": {"pool": True, "init_command": "SET time_zone = '+00:00'"},
    }
}
