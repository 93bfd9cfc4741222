"""A separate process of pooled workers, for fault tests that need several processes.

    python tests/faults/worker.py '{"settings": {...}, "threads": 15, "statements": 20}'

Configures Django with one pooled alias from the given DATABASES entry, runs the workers, and
prints one JSON line: statements that succeeded, errors (as strings) and the pool's stats.
Exits normally (atexit included), as a Gunicorn worker does.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support import pymysql_shim


def main() -> int:
    """Run the workers described by the JSON argument and print the outcome."""
    spec = json.loads(sys.argv[1])
    pymysql_shim.use(spec.get("driver", "mysqlclient"))
    import django
    from django.conf import settings

    settings.configure(DATABASES={"default": spec["settings"]}, USE_TZ=True)
    django.setup()
    from django.db import connection

    import django_pooled_mysql

    ok = 0
    errors: list[str] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        nonlocal ok
        for _ in range(spec["statements"]):
            try:
                with connection.cursor() as cursor:
                    cursor.execute(spec.get("sql", "SELECT SLEEP(0.005)"))
                    cursor.execute("INSERT INTO hits (worker) VALUES (%s)", [i])
                with lock:
                    ok += 1
            except Exception as exc:  # reported to the test
                with lock:
                    errors.append("%s: %s" % (type(exc).__name__, exc))
        connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(spec["threads"])]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 300
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0))
    if any(thread.is_alive() for thread in threads):
        errors.append("a worker thread did not finish within 300 s")
    stats: dict[str, Any] = django_pooled_mysql.pool_stats("default")
    print(json.dumps({"ok": ok, "errors": errors[:20], "error_count": len(errors), "stats": stats}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
