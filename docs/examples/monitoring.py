import logging
import os
from typing import Any

import django_pooled_mysql

logger = logging.getLogger("shop.pool")

# Now: connections open, checked out, idle, and callers waiting for one.
GAUGES = ("open", "in_use", "idle", "waiting")
# Since the pool was created: compare two readings for a rate.
COUNTERS = ("wait_count", "timeouts", "connects", "invalidations", "server_refusals", "abandoned")


def log_pool_stats(alias: str = "default") -> dict[str, Any]:
    """Log one line with this process's pool figures for `alias` and return them all."""
    stats = django_pooled_mysql.pool_stats(alias)
    logger.info(
        "pool %s pid %d: %s",
        alias,
        os.getpid(),
        " ".join("%s=%s" % (key, stats[key]) for key in GAUGES + COUNTERS),
    )
    return stats
