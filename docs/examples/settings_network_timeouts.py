# settings.py: deadlines for a network that fails without closing anything (configuration.md).
DATABASES = {
    "default": {
        "ENGINE": "django_pooled_mysql",
        "NAME": "shop",
        "USER": "shop",
        "PASSWORD": "secret",
        "HOST": "db.internal",
        "OPTIONS": {
            "connect_timeout": 5,  # a handshake takes milliseconds; 5 s is a server in trouble
            "read_timeout": 60,  # above the slowest query: the longest a statement may wait
            "write_timeout": 60,
            "pool": {
                "timeout": 10,  # a connection, or an error, within 10 s
                "tcp_keepalive": 60,  # the kernel finds a dead peer ~90 s after its last packet
            },
        },
    }
}
