"""django-pooled-mysql: a Django MySQL/MariaDB ENGINE with per-statement connection leases."""

from __future__ import annotations

__version__ = "0.1.0.dev0"
