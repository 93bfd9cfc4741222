"""One housekeeper per process: pool work for neither a request's path nor a callback.

Weak-reference callbacks and finalizers run wherever the interpreter happens to drop the last
reference: in a thread's teardown, in the gevent hub, in the middle of a garbage collection that
interrupted code holding a pool lock. Closing a socket or taking a lock there can deadlock or
block the hub, so callbacks only put a job on this queue (``queue.SimpleQueue.put`` is documented
as safe to call from ``__del__`` methods and weakref callbacks), and the housekeeper runs it.

The housekeeper is a daemon thread, which under gevent monkey-patching is a greenlet, so that its
waits yield to the hub. It is started by ordinary code paths (never by a callback), waits without
a timeout while nothing is scheduled, is started afresh in a forked child (the parent's thread
does not exist there) and is stopped at interpreter exit.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

logger = logging.getLogger("django_pooled_mysql")

Job = Callable[[], object]
# A periodic job returns False when it has nothing left to do; it is then dropped.
PeriodicJob = Callable[[], bool]

_STOP: Any = object()
_WAKE: Any = object()


class Housekeeper:
    """A worker that runs submitted jobs in order, and periodic jobs when they are due."""

    def __init__(self) -> None:
        # Looked up now, so that gevent's queue and threads are used in a patched process.
        self._jobs: Any = queue.SimpleQueue()
        self._lock = threading.Lock()
        # key -> [interval, job, next due time]
        self._periodic: dict[Hashable, list[Any]] = {}
        self._thread = threading.Thread(
            target=self._run, name="django-pooled-mysql-housekeeper", daemon=True
        )
        self._thread.start()

    def submit(self, job: Job) -> None:
        """Run job soon in the housekeeper. Safe from weakref callbacks and any thread."""
        self._jobs.put(job)

    def every(self, key: Hashable, interval: float, job: PeriodicJob) -> None:
        """Run job every interval seconds until it returns False; a key already scheduled is
        left as it is (so that asking again and again does not postpone it)."""
        with self._lock:
            if key in self._periodic:
                return
            self._periodic[key] = [interval, job, time.monotonic() + interval]
        self._jobs.put(_WAKE)

    def stop(self, timeout: float = 2.0) -> None:
        """End the worker after the jobs already submitted."""
        self._jobs.put(_STOP)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        """Whether the worker is running."""
        return self._thread.is_alive()

    def _run(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self._seconds_to_next_due())
            except queue.Empty:
                job = None
            if job is _STOP:
                return
            if job is not None and job is not _WAKE:
                _call(job)
            self._run_due()

    def _seconds_to_next_due(self) -> float | None:
        with self._lock:
            if not self._periodic:
                return None
            due = min(entry[2] for entry in self._periodic.values())
        return max(due - time.monotonic(), 0.0)

    def _run_due(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = [(key, entry) for key, entry in self._periodic.items() if entry[2] <= now]
        for key, entry in due:
            keep = _call(entry[1])
            with self._lock:
                if keep is False:
                    if self._periodic.get(key) is entry:
                        del self._periodic[key]
                else:
                    entry[2] = time.monotonic() + entry[0]


def _call(job: Job) -> object:
    try:
        return job()
    except Exception:
        # A pool's job (a bound method, or a partial of one) is logged under the pool's name,
        # as every other line of this logger.
        owner = getattr(getattr(job, "func", job), "__self__", None)
        name = getattr(owner, "name", None)
        if isinstance(name, str):
            logger.exception("pool %s: housekeeping job %r failed", name, job)
        else:
            logger.exception("housekeeping job %r failed", job)
        return None


# This process's housekeeper once started (read directly by the hot path of pin()).
running: Housekeeper | None = None
_start_lock = threading.Lock()


def housekeeper() -> Housekeeper:
    """This process's housekeeper, started on first use. Not for weakref callbacks: see submit()."""
    keeper = running
    if keeper is None:
        with _start_lock:
            keeper = running
            if keeper is None:
                keeper = _start()
    return keeper


def _start() -> Housekeeper:
    global running
    running = Housekeeper()
    return running


def submit(job: Job) -> bool:
    """Hand job to the running housekeeper; False if there is none (then nothing is run).

    Safe from weakref callbacks: it never starts a thread. Whatever submits from a callback
    makes sure earlier, from an ordinary code path, that the housekeeper runs.
    """
    keeper = running
    if keeper is None:
        return False
    keeper.submit(job)
    return True


def _forget_in_child() -> None:
    # The parent's worker thread does not exist in a forked child; a new one starts on first use.
    global running, _start_lock
    running = None
    _start_lock = threading.Lock()


def _stop_at_exit() -> None:
    keeper = running
    if keeper is not None:
        keeper.stop()


os.register_at_fork(after_in_child=_forget_in_child)
atexit.register(_stop_at_exit)
