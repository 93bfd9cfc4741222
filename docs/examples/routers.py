"""Reads go to the replica; writes, select_for_update() and migrations go to the primary."""

from __future__ import annotations

from typing import Any


class PrimaryReplicaRouter:
    """A DATABASE_ROUTERS entry for one primary ("default") and one replica ("replica")."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        """Plain reads: the replica (they may lag behind the primary)."""
        return "replica"

    def db_for_write(self, model: type, **hints: Any) -> str:
        """Writes, and reads that lock rows (select_for_update(), get_or_create())."""
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        """Both aliases hold the same data."""
        return True

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool:
        """Migrations run on the primary only; replication carries them to the replica."""
        return db == "default"
