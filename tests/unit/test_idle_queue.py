"""The pool's idle queue: lock-free take/put, and no lost wake-ups for callers that wait."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy.util import queue as sa_queue

from django_pooled_mysql.pool import IdleQueue
from tests.conftest import eventually, run_threads


def test_lifo_and_fifo_order() -> None:
    lifo, fifo = IdleQueue(5, use_lifo=True), IdleQueue(5, use_lifo=False)
    for queue in (lifo, fifo):
        for item in "abc":
            queue.put(item, False)
    assert [lifo.take() for _ in range(4)] == ["c", "b", "a", None]
    assert [fifo.get(False) for _ in range(3)] == ["a", "b", "c"]
    with pytest.raises(sa_queue.Empty):
        fifo.get(False)


def test_full_queue_refuses_a_put() -> None:
    queue = IdleQueue(2)
    queue.put(1, False)
    queue.put(2, False)
    with pytest.raises(sa_queue.Full):
        queue.put(3, False)


def test_a_waiting_get_times_out_empty() -> None:
    queue = IdleQueue(2)
    with pytest.raises(sa_queue.Empty):
        queue.get(True, 0.05)
    assert queue.waiting == 0


def test_every_waiter_is_woken_by_a_put() -> None:
    # A lost notification would leave a waiter blocked for its 60 s timeout, and the joins
    # below give up after 10 s in all.
    queue = IdleQueue(0)
    waiters = 16
    got: list[Any] = []
    lock = threading.Lock()

    def wait() -> None:
        item = queue.get(True, 60)
        with lock:
            got.append(item)

    threads = [threading.Thread(target=wait) for _ in range(waiters)]
    for thread in threads:
        thread.start()
    eventually(lambda: queue.waiting == waiters, what="all waiters to wait")
    run_threads(waiters, lambda i: queue.put(i, False))
    deadline = time.monotonic() + 10
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0))
    assert not any(thread.is_alive() for thread in threads)
    assert sorted(got) == list(range(waiters))
    assert queue.waiting == 0


def test_concurrent_takers_putters_and_waiters_never_lose_or_duplicate() -> None:
    queue = IdleQueue(8)
    for item in range(8):
        queue.put(item, False)

    def churn(worker: int) -> int:
        # Take (barging or waiting), hold, give back: every item is held by one worker at most.
        moves = 0
        for round_ in range(3000):
            item = queue.take() if (worker + round_) % 2 else queue.get(True, 30)
            if item is None:
                continue
            queue.put(item, False)
            moves += 1
        return moves

    moves = run_threads(12, churn)
    assert sum(moves) > 0
    assert sorted(queue.queue) == list(range(8))
    assert queue.waiting == 0


def test_wait_for_put_returns_when_a_record_comes_back() -> None:
    queue = IdleQueue(2)
    returned = threading.Event()

    def wait() -> None:
        queue.wait_for_put(60)
        returned.set()

    thread = threading.Thread(target=wait)
    thread.start()
    eventually(lambda: queue.waiting == 1, what="the waiter to wait")
    queue.put("record", False)
    assert returned.wait(10)
    thread.join()
