LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        # INFO: invalidated connections (with the reason) and retried statements;
        # WARNING: leak warnings and recovered abandoned leases. DEBUG adds connect, close, pins.
        "django_pooled_mysql": {"handlers": ["console"], "level": "INFO"},
    },
}
