"""Prometheus metrics of a real Gunicorn with 2 gevent workers under load, against the server.

Gunicorn runs the documentation's configuration (docs/examples/gunicorn_prometheus.conf.py) and
metrics URL (docs/examples/urls_metrics.py) in prometheus_client's multiprocess mode; the test
site is tests/prometheus_site/. A scrape answered by one worker must give the sum of both: the
connections open against the server's own count (its processlist for the site's database), the
checkouts against the requests served, and after a worker is replaced, its gauges gone from the
sums and its counters kept.
"""

from __future__ import annotations

import os
import signal
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.docs_pages import EXAMPLES
from tests.support.helpers import Admin, GunicornSite, eventually, join_all

WORKERS = 2
# tests/prometheus_site/settings.py: pool_size=2, max_overflow=2.
MAX_OPEN = 4
CLIENTS = 16
REQUESTS_PER_CLIENT = 15
TRANSACTION_PINS = 'django_pooled_mysql_pins_total{kind="transaction"}'
IDENTITY_PINS = 'django_pooled_mysql_pins_total{kind="session_state:session_identity"}'
IDENTITY_SECONDS = 'django_pooled_mysql_pinned_seconds_total{kind="session_state:session_identity"}'


@pytest.fixture
def site(admin: Admin, tmp_path: Path) -> Iterator[GunicornSite]:
    database = "prometheus_%s" % uuid.uuid4().hex[:10]
    admin.query("CREATE DATABASE %s" % database)
    running = GunicornSite(
        database,
        tmp_path,
        EXAMPLES / "gunicorn_prometheus.conf.py",
        ["--workers", str(WORKERS)],
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
    )
    try:
        running.wait_until_up()
        yield running
    finally:
        running.stop()
        admin.query("DROP DATABASE IF EXISTS %s" % database)


def server_count(admin: Admin, database: str) -> int:
    """The server's own count of connections to the site's database."""
    return len(admin.connection_ids(database))


def test_gunicorn_workers_metrics_add_up_to_the_servers_connection_count(
    site: GunicornSite, admin: Admin
) -> None:
    served: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def client() -> None:
        try:
            for _ in range(REQUESTS_PER_CLIENT):
                served.append(site.json("/hold/?ms=40"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    clients = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for thread in clients:
        thread.start()

    # Under load: the scraped open connections (both workers' sum) agree with the server's
    # processlist, and never exceed the workers' bound.
    def scraped_matches_server() -> bool:
        metrics = site.metrics()
        before = server_count(admin, site.database)
        assert before <= WORKERS * MAX_OPEN
        assert metrics["django_pooled_mysql_open"] <= WORKERS * MAX_OPEN
        return (
            metrics["django_pooled_mysql_open"] == before == server_count(admin, site.database)
            and metrics["django_pooled_mysql_in_use"] > 0
        )

    eventually(scraped_matches_server, timeout=20, what="the scrape to match the server under load")
    join_all(clients, timeout=120)
    assert not errors, errors[0]
    assert len(served) == CLIENTS * REQUESTS_PER_CLIENT
    pids = {answer["pid"] for answer in served}
    assert len(pids) == WORKERS, "the load reached only one worker"
    # Every connection the views were handed was one of the server's, at most the bound.
    assert len({answer["connection"] for answer in served}) >= WORKERS

    # Quiet: the scrape settles on the sums of both workers (each copies its figures every
    # second), against the server's own count.
    def settled() -> bool:
        metrics = site.metrics()
        last["settled"] = (server_count(admin, site.database), metrics)
        return (
            metrics["django_pooled_mysql_in_use"] == 0
            and metrics["django_pooled_mysql_waiting"] == 0
            and metrics["django_pooled_mysql_open"] == server_count(admin, site.database)
            # One checkout per request (its transaction), plus the first connects of the
            # pools, which each Django connection arriving at a worker before its pool has
            # connected makes (about one per client at the start): not a count of one worker,
            # nor one counted twice.
            and len(served)
            <= metrics["django_pooled_mysql_requests_total"]
            <= len(served) + 2 * CLIENTS
            # One transaction pin per request, counted in the worker that served it.
            and metrics.get(TRANSACTION_PINS) == len(served)
        )

    last: dict[str, Any] = {}
    try:
        eventually(settled, timeout=20, what="the scrape to settle on both workers' sums")
    except AssertionError:
        raise AssertionError("last scrape: %s" % (last,)) from None
    metrics = site.metrics()
    assert metrics["django_pooled_mysql_max_open"] == WORKERS * MAX_OPEN
    assert metrics["django_pooled_mysql_pool_size"] == WORKERS * 2
    # The load was more than the pools: checkouts waited, none timed out.
    assert metrics["django_pooled_mysql_wait_count_total"] > 0
    assert metrics["django_pooled_mysql_wait_seconds_total"] > 0
    assert metrics["django_pooled_mysql_timeouts_total"] == 0
    assert metrics["django_pooled_mysql_connects_total"] >= metrics["django_pooled_mysql_open"]
    # Each request's connection, pinned for the transaction, is then pinned for the session
    # identity it reads (CONNECTION_ID()) until the request ends, its 40 ms sleep included.
    assert metrics[IDENTITY_PINS] == len(served)
    assert metrics[IDENTITY_SECONDS] >= 0.040 * len(served)
    assert metrics['django_pooled_mysql_pinned_seconds_total{kind="transaction"}'] >= 0
    requests_before = metrics["django_pooled_mysql_requests_total"]

    # A worker replaced (as max_requests or a crash would): child_exit takes its gauges out of
    # the sums, its counters stay.
    old = site.worker_pids()
    assert len(old) == WORKERS
    os.kill(old[0], signal.SIGTERM)
    eventually(
        lambda: old[0] not in site.worker_pids() and len(site.worker_pids()) == WORKERS,
        timeout=30,
        what="Gunicorn to replace the worker",
    )

    def replaced() -> bool:
        metrics = site.metrics()
        return metrics["django_pooled_mysql_max_open"] == MAX_OPEN and metrics[
            "django_pooled_mysql_open"
        ] == server_count(admin, site.database)

    eventually(replaced, timeout=20, what="the replaced worker's gauges to leave the sums")
    assert site.metrics()["django_pooled_mysql_requests_total"] == requests_before
    assert site.metrics()[TRANSACTION_PINS] == len(served)


def test_metrics_without_multiprocess_mode_read_the_pools_at_scrape_time(
    scratch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from django_pooled_mysql import prometheus

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    db = scratch.wrapper({"pool_size": 2, "max_overflow": 1}, alias="metrics_scratch")
    db.set_autocommit(False)
    with db.cursor() as cursor:
        cursor.execute("SELECT 1")
    registry = CollectorRegistry()
    prometheus.register(registry)
    prometheus.register(registry)  # idempotent
    metrics = {
        (sample.name, sample.labels["alias"]): sample.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for sample in family.samples
    }
    assert metrics["django_pooled_mysql_in_use", "metrics_scratch"] == 1
    assert metrics["django_pooled_mysql_open", "metrics_scratch"] == scratch.server_connections()
    assert metrics["django_pooled_mysql_max_open", "metrics_scratch"] == 3
    assert by_kind(registry) == {("django_pooled_mysql_pins_total", "transaction"): 1}
    db.commit()
    db.set_autocommit(True)
    after = {
        (sample.name, sample.labels["alias"]): sample.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for sample in family.samples
    }
    assert after["django_pooled_mysql_in_use", "metrics_scratch"] == 0
    assert after["django_pooled_mysql_requests_total", "metrics_scratch"] >= 1
    ended = by_kind(registry)
    assert set(ended) == {
        ("django_pooled_mysql_pins_total", "transaction"),
        ("django_pooled_mysql_pinned_seconds_total", "transaction"),
    }
    assert ended["django_pooled_mysql_pinned_seconds_total", "transaction"] >= 0


def by_kind(registry: Any) -> dict[tuple[str, str], float]:
    """The scratch pool's samples with a kind label, by (metric, kind)."""
    from prometheus_client import generate_latest

    return {
        (sample.name, sample.labels["kind"]): sample.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for sample in family.samples
        if "kind" in sample.labels and sample.labels["alias"] == "metrics_scratch"
    }
