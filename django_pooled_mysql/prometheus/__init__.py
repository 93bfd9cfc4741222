"""Prometheus: every pool's ``pool_stats()`` as metrics, and an ENGINE with django-prometheus.

Two separate things under one name, each needing its own optional package:

* this module, the exporter of the pools' own figures (below; prometheus_client);
* ``ENGINE = "django_pooled_mysql.prometheus"`` (``base.py``): this ENGINE with
  django-prometheus' query metrics, for sites that used ``django_prometheus.db.backends.mysql``
  (docs/monitoring.md; django-prometheus, which brings prometheus_client).

The exporter, every pool's ``pool_stats()`` by alias and pool, in every process:

The optional extra ``django-pooled-mysql[prometheus]`` (prometheus_client). Each stats key
``k`` is the metric ``django_pooled_mysql_k`` (counters get prometheus_client's ``_total``
suffix), labelled ``alias`` and ``pool`` (the pool's name: alias, user@host:port/database), and
``kind`` for the counters kept by kind of pin (``pins``, ``pinned_seconds``: stats.BY_KIND).
Counters are counters and gauges gauges, as stats.py classifies them.

Two ways of collecting, chosen as prometheus_client chooses (``PROMETHEUS_MULTIPROC_DIR``):

* one process (runserver, uvicorn with one worker, a process with its own
  ``start_http_server``): ``register()`` adds ``PoolCollector`` to the registry, which reads
  the pools at scrape time;
* several processes (Gunicorn, uWSGI, Celery prefork), prometheus_client's multiprocess mode:
  ``register()`` makes each process copy its pools' figures into its multiprocess files every
  ``interval`` seconds (a job of the process's housekeeper, housekeeping.py) and at each scrape
  it serves, and the scrape sums the processes: counters over every process that ever ran,
  gauges (``livesum``) over the live ones, which needs Gunicorn's ``child_exit`` hook to call
  ``prometheus_client.multiprocess.mark_process_dead(worker.pid)``.

``metrics_view`` is a Django view serving the metrics of every process (docs/operations.md).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from ..pool import housekeeping
from ..pool.registry import process_stats
from ..pool.stats import BY_KIND, COUNTER, KEYS, help_text, kind

PREFIX = "django_pooled_mysql_"
LABELS = ("alias", "pool")
# The labels of the counters kept by kind of pin (stats.BY_KIND).
KIND_LABELS = (*LABELS, "kind")
# How often each process copies its figures into the multiprocess files: under a typical scrape
# interval (15 s or more), so that the processes' figures of one scrape are about as old as each
# other; the copy costs a few microseconds per pool.
INTERVAL = 1.0


def metric_name(key: str) -> str:
    """The metric of a stats key, as it is exposed (with ``_total`` for counters)."""
    return PREFIX + key + ("_total" if kind(key) == COUNTER else "")


def multiprocess_mode() -> bool:
    """Whether prometheus_client runs in multiprocess mode (it reads the same variables)."""
    return "PROMETHEUS_MULTIPROC_DIR" in os.environ or "prometheus_multiproc_dir" in os.environ


def _numeric(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _samples(stats: dict[str, Any]) -> Iterator[tuple[str, tuple[str, ...], Any]]:
    """(key, the labels beyond alias and pool, value) of each figure of a pool's stats."""
    for key, value in stats.items():
        if key in BY_KIND:
            for pin_kind, number in value.items():
                yield key, (pin_kind,), number
        elif _numeric(value):
            yield key, (), value


class PoolCollector:
    """A prometheus_client collector reading this process's pools at scrape time."""

    def describe(self) -> list[Metric]:
        """The metrics' names and types (without reading any pool)."""
        return list(self._families([]))

    def collect(self) -> Iterator[Metric]:
        """Every pool's figures now."""
        return iter(self._families(process_stats()))

    @staticmethod
    def _families(pools: list[tuple[str, Any, dict[str, Any]]]) -> list[Metric]:
        families: dict[str, Any] = {}

        def family(key: str) -> Any:
            found = families.get(key)
            if found is None:
                cls = CounterMetricFamily if kind(key) == COUNTER else GaugeMetricFamily
                labels = KIND_LABELS if key in BY_KIND else LABELS
                found = families[key] = cls(PREFIX + key, help_text(key), labels=labels)
            return found

        for key in KEYS:
            family(key)
        for alias, pool, stats in pools:
            for key, more, value in _samples(stats):
                family(key).add_metric([alias, pool.name, *more], value)
        return list(families.values())


def collector() -> PoolCollector:
    """A new PoolCollector (for a registry of your own)."""
    return PoolCollector()


class _Publisher:
    """Copies this process's pool figures into prometheus_client's multiprocess files."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._metrics: dict[str, Any] = {}
        # id(pool) -> (pool, labels, the figures last copied by (key, more labels)): counters
        # grow by the difference.
        self._last: dict[int, tuple[Any, tuple[str, str], dict[Any, Any]]] = {}

    def forget(self) -> None:
        """After fork(): the parent's pools are not this process's (pool/registry.py)."""
        # The lock too: another thread may have held it at the fork.
        self._lock = threading.Lock()
        self._last = {}

    def _metric(self, key: str) -> Any:
        metric = self._metrics.get(key)
        if metric is None:
            if kind(key) == COUNTER:
                labels = KIND_LABELS if key in BY_KIND else LABELS
                metric = Counter(PREFIX + key, help_text(key), labels, registry=None)
            else:
                # Summed over the live processes (mark_process_dead() removes a dead one's).
                metric = Gauge(
                    PREFIX + key,
                    help_text(key),
                    LABELS,
                    registry=None,
                    multiprocess_mode="livesum",
                )
            self._metrics[key] = metric
        return metric

    def publish(self) -> bool:
        """Copy every pool's figures now (True: a periodic job that never ends)."""
        with self._lock:
            current = {}
            for alias, pool, stats in process_stats():
                labels = (alias, pool.name)
                _, _, last = self._last.get(id(pool), (pool, labels, {}))
                figures = {}
                for key, more, value in _samples(stats):
                    figures[key, more] = value
                    metric = self._metric(key).labels(*labels, *more)
                    if kind(key) == COUNTER:
                        # A counter of the pool only grows; a drop would be a new pool object.
                        grown = value - last.get((key, more), 0)
                        if grown > 0:
                            metric.inc(grown)
                    else:
                        metric.set(value)
                current[id(pool)] = (pool, labels, figures)
            live = {labels for _, labels, _ in current.values()}
            for pool_id, (_, labels, figures) in self._last.items():
                if pool_id not in current and labels not in live:
                    # A pool closed and forgotten: it holds nothing now.
                    for (name, more), _value in figures.items():
                        if kind(name) != COUNTER:
                            self._metric(name).labels(*labels, *more).set(0)
            self._last = current
        return True


_publisher: _Publisher | None = None
_registered: set[int] = set()
_armed_pid: int | None = None
_lock = threading.Lock()
_interval = INTERVAL


def register(registry: CollectorRegistry | None = None, interval: float = INTERVAL) -> None:
    """Export this process's pools; call once per process (idempotent, and safe before fork).

    Without multiprocess mode, adds a PoolCollector to ``registry`` (prometheus_client's
    default one if None). In multiprocess mode, copies the figures into the multiprocess files
    every ``interval`` seconds from now on, in this process and in the processes forked from it
    (re-armed at their first request).
    """
    global _interval
    with _lock:
        if not multiprocess_mode():
            target = REGISTRY if registry is None else registry
            if id(target) not in _registered:
                target.register(PoolCollector())
                _registered.add(id(target))
            return
        _interval = interval
    _arm()
    from django.core.signals import request_started

    # A worker forked after register() (Gunicorn's preload_app) has no housekeeper job yet.
    request_started.connect(_on_request_started, dispatch_uid="django_pooled_mysql.prometheus")


def _arm() -> None:
    global _publisher, _armed_pid
    with _lock:
        if _armed_pid == os.getpid():
            return
        if _publisher is None:
            _publisher = _Publisher()
        _armed_pid = os.getpid()
        publisher = _publisher
    housekeeping.housekeeper().every(("prometheus", _armed_pid), _interval, publisher.publish)


def _on_request_started(**kwargs: Any) -> None:
    if _armed_pid != os.getpid():
        _arm()


def publish() -> None:
    """Copy this process's figures into the multiprocess files now (multiprocess mode only)."""
    if _publisher is not None and _armed_pid == os.getpid():
        _publisher.publish()


def scrape_registry() -> CollectorRegistry:
    """The registry to serve: every process's metrics in multiprocess mode (this process's
    figures copied first), else prometheus_client's default registry.

    For a server of your own, e.g. ``prometheus_client.start_http_server(9100,
    registry=scrape_registry())`` (in multiprocess mode also from Gunicorn's master, in its
    ``when_ready`` hook).
    """
    if not multiprocess_mode():
        return REGISTRY
    publish()
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


def metrics_view(request: Any) -> Any:
    """A Django view answering the metrics of every process (all of prometheus_client's)."""
    from django.http import HttpResponse

    register()
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)


def _forget_in_child() -> None:
    # The parent's pools, housekeeper and job are not the child's (pool/registry.py and
    # pool/housekeeping.py).
    global _lock
    _lock = threading.Lock()
    if _publisher is not None:
        _publisher.forget()


os.register_at_fork(after_in_child=_forget_in_child)
