"""What the sample's tests record about where they ran (read by tests/ecosystem/)."""

import json
import os
import uuid
from typing import Any

from django.db import connection


def where() -> tuple[str, int, str]:
    """(DATABASE(), the server session running the statement, the processlist's DB for it).

    The statement finds its own processlist row by a marker in its text (as
    tests.support.helpers.session_id() does): CONNECTION_ID() would pin a pooled connection.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DATABASE(), ID, DB FROM information_schema.PROCESSLIST WHERE INFO LIKE %s",
            ["%" + uuid.uuid4().hex + "%"],
        )
        ((database, connection_id, seen),) = cursor.fetchall()
    return database, connection_id, seen


def record(worker: str) -> dict[str, Any]:
    """Check that this test runs on its own test database, and note it in SAMPLE_REPORT."""
    database, connection_id, seen = where()
    assert database == connection.settings_dict["NAME"] == seen
    pool = getattr(connection, "pool", None)
    entry = {
        "worker": worker,
        "pid": os.getpid(),
        "db": database,
        "connection_id": connection_id,
        "pool": pool.name if pool is not None else None,
    }
    if pool is not None:
        # The pool's name says which database it serves: this worker's own.
        assert pool.name.endswith("/%s)" % database), pool.name
    report = os.environ.get("SAMPLE_REPORT")
    if report:
        # One short line per write (O_APPEND): processes appending at once do not interleave.
        with open(report, "a") as out:
            out.write(json.dumps(entry) + "\n")
    return entry
