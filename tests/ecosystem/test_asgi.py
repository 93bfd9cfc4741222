"""Async views under uvicorn with hundreds of concurrent requests (issue 15, item 5).

The ORM through sync_to_async (thread-sensitive, Django's default, and not) and the async ORM
methods (acreate(), aget(), async for): more threads hold Django connections than the pool
has connections, and the server's count stays within pool_size + max_overflow.
"""

from __future__ import annotations

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.integration.test_threads_asgi import asgi_server  # noqa: F401  (fixture)
from tests.support.helpers import Admin, PeakConnections, Scratch

PATHS = ["/orm/sensitive", "/orm/insensitive", "/orm/async"]
CLIENTS = 200
REQUESTS = 600


def test_async_views_stay_within_the_cap_with_hundreds_of_requests(
    asgi_server: tuple[str, Scratch],  # noqa: F811
) -> None:
    base, scratch = asgi_server
    admin = Admin()

    def request(number: int) -> tuple[str, int]:
        path = PATHS[number % len(PATHS)]
        with urllib.request.urlopen(base + path, timeout=120) as response:
            return path, json.loads(response.read())["id"]

    with PeakConnections(admin, scratch.name) as seen, ThreadPoolExecutor(CLIENTS) as clients:
        answers = list(clients.map(request, range(REQUESTS)))
    peak = seen.peak
    stats: dict[str, Any] = json.loads(urllib.request.urlopen(base + "/stats").read())
    # The load is over; the executor's threads and Django's per-request threads are idle now,
    # some with their Django connection still open: they hold no server connection.
    idle = len(admin.connection_ids(scratch.name))
    rows = admin.query("SELECT name, COUNT(*) FROM %s.testapp_author GROUP BY name" % scratch.name)
    admin.conn.close()
    assert len({answer for answer in answers}) == REQUESTS
    assert dict(rows) == {"sensitive": 200, "insensitive": 200, "async": 200}
    # pool_size=4, max_overflow=4 (the fixture's), for 200 requests at a time.
    assert 0 < peak <= 8, peak
    assert stats["max_open"] == 8 and stats["timeouts"] == 0 and stats["in_use"] == 0
    assert idle <= stats["open"] <= 8
