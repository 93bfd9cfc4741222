"""The pool's idle queue: lock-free take/put, fair hand-off, no lost wake-ups for waiters."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from django_pooled_mysql import pool as pool_module
from django_pooled_mysql.pool import idle_queue as idle_queue_module
from django_pooled_mysql.pool.idle_queue import IdleQueue
from tests.support.helpers import FakeConnection, eventually, join_all, run_threads


def get(queue: IdleQueue, timeout: float) -> Any:
    """An idle record now, or one handed over within timeout, as a checkout takes one."""
    record = queue.take()
    return record if record is not None else queue.wait(timeout)


def test_lifo_and_fifo_order() -> None:
    lifo, fifo = IdleQueue(use_lifo=True), IdleQueue(use_lifo=False)
    for queue in (lifo, fifo):
        for item in "abc":
            queue.put(item)
    assert [lifo.take() for _ in range(4)] == ["c", "b", "a", None]
    assert [fifo.take() for _ in range(4)] == ["a", "b", "c", None]


def test_a_wait_times_out_with_none() -> None:
    queue = IdleQueue()
    assert queue.wait(0.05) is None
    assert queue.waiting == 0


def test_remove_takes_out_only_an_idle_record() -> None:
    queue = IdleQueue()
    queue.put("a")
    queue.put("b")
    assert queue.remove("a") and not queue.remove("a")
    assert list(queue) == ["b"] and len(queue) == 1


def test_every_waiter_is_woken_by_a_put() -> None:
    # A lost notification would leave a waiter blocked for its 60 s timeout, and the joins
    # below give up after 10 s in all.
    queue = IdleQueue()
    waiters = 16
    got: list[Any] = []
    lock = threading.Lock()

    def wait() -> None:
        item = get(queue, 60)
        with lock:
            got.append(item)

    threads = [threading.Thread(target=wait) for _ in range(waiters)]
    for thread in threads:
        thread.start()
    eventually(lambda: queue.waiting == waiters, what="all waiters to wait")
    run_threads(waiters, lambda i: queue.put(i))
    join_all(threads, 10)
    assert sorted(got) == list(range(waiters))
    assert queue.waiting == 0


def test_concurrent_takers_putters_and_waiters_never_lose_or_duplicate() -> None:
    queue = IdleQueue()
    for item in range(8):
        queue.put(item)

    def churn(worker: int) -> int:
        # Take (barging or waiting), hold, give back: every item is held by one worker at most.
        moves = 0
        for round_ in range(3000):
            item = queue.take() if (worker + round_) % 2 else get(queue, 30)
            if item is None:
                continue
            queue.put(item)
            moves += 1
        return moves

    moves = run_threads(12, churn)
    assert sum(moves) > 0
    assert sorted(queue) == list(range(8))
    assert queue.waiting == 0


def test_a_waiter_is_handed_the_returned_record() -> None:
    queue = IdleQueue()
    handed: list[Any] = []
    returned = threading.Event()

    def wait() -> None:
        handed.append(queue.wait(60))
        returned.set()

    thread = threading.Thread(target=wait)
    thread.start()
    eventually(lambda: queue.waiting == 1, what="the waiter to wait")
    queue.put("record")
    assert returned.wait(10)
    join_all([thread], 10)
    assert handed == ["record"]
    assert len(queue) == 0
    assert queue.wait(0.01) is None


def test_waiters_are_served_in_arrival_order_and_ahead_of_newcomers() -> None:
    queue = IdleQueue()
    served: dict[int, Any] = {}

    def wait(i: int) -> None:
        served[i] = get(queue, 60)

    threads = []
    for i in range(5):
        thread = threading.Thread(target=wait, args=(i,))
        thread.start()
        threads.append(thread)
        eventually(lambda n=i + 1: queue.waiting == n, what="waiter %d to wait" % i)
    for record in range(5):
        queue.put(record)
        # The record went to the longest waiter: a caller arriving now finds none.
        assert queue.take() is None
    join_all(threads, 10)
    # Records were put in the order 0..4, so waiter i got record i.
    assert served == {i: i for i in range(5)}


def test_a_holder_asking_again_at_once_goes_behind_the_waiters() -> None:
    # A thread running statement after statement puts its record back and asks again at once.
    # Without the hand-off it takes the record straight back before a merely woken waiter runs
    # (the module's docstring has the measurement). With it, the record goes to each waiter in
    # arrival order, and the holder's next turn comes after theirs.
    queue = IdleQueue()
    queue.put("the only record")
    held = queue.take()
    turns: list[str] = []

    def take_turn(i: int) -> None:
        record = queue.wait(10)
        if record is None:
            turns.append("waiter %d timed out" % i)
            return
        turns.append("waiter %d" % i)  # while holding the record: the order is exact
        queue.put(record)

    threads = []
    for i in range(4):
        thread = threading.Thread(target=take_turn, args=(i,))
        thread.start()
        threads.append(thread)
        eventually(lambda n=i + 1: queue.waiting == n, what="waiter %d to wait" % i)
    queue.put(held)
    again = get(queue, 10)
    turns.append("holder" if again is not None else "holder timed out")
    queue.put(again)
    join_all(threads, 10)
    assert turns == ["waiter 0", "waiter 1", "waiter 2", "waiter 3", "holder"]
    assert list(queue) == ["the only record"] and queue.waiting == 0


class _Interrupt(BaseException):
    """Stands for gevent.Timeout or KeyboardInterrupt raised inside a wait."""


@pytest.mark.parametrize("handed_first", [False, True], ids=["nothing handed", "record handed"])
def test_an_interrupted_waiter_leaves_the_line_and_loses_no_record(
    monkeypatch: pytest.MonkeyPatch, handed_first: bool
) -> None:
    queue = IdleQueue()

    class InterruptedLock:
        def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
            if handed_first:
                queue.put("record")  # handed to the waiter, which is then interrupted
            raise _Interrupt()

        def release(self) -> None:
            pass

    class InterruptedWaiter:
        def __init__(self) -> None:
            self.record: Any = None
            self.lock = InterruptedLock()

    monkeypatch.setattr(idle_queue_module, "_Waiter", InterruptedWaiter)
    with pytest.raises(_Interrupt):
        queue.wait(60)
    assert queue.waiting == 0
    assert queue.take() == ("record" if handed_first else None)


def test_release_waiters_ends_every_wait_with_none() -> None:
    queue = IdleQueue()
    results: list[Any] = []

    def wait() -> None:
        results.append(queue.wait(60))

    threads = [threading.Thread(target=wait) for _ in range(3)]
    for thread in threads:
        thread.start()
    eventually(lambda: queue.waiting == 3, what="the waiters to wait")
    queue.release_waiters()
    join_all(threads, 10)
    assert results == [None, None, None]
    assert queue.waiting == 0


def test_closing_a_pool_fails_its_waiting_callers_at_once() -> None:
    from django_pooled_mysql.exceptions import PoolClosed
    from django_pooled_mysql.pool.options import parse_pool_option

    options = parse_pool_option("x", {"pool_size": 1, "max_overflow": 0, "timeout": 60})
    assert options is not None
    pool = pool_module.ConnectionPool("fake", FakeConnection, options)
    held, _ = pool.checkout()
    outcome: list[BaseException] = []

    def wait() -> None:
        try:
            pool.checkout()
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    eventually(lambda: pool.stats()["waiting"] == 1, what="the caller to wait")
    pool.close()
    join_all([thread], 10)  # without the release, the caller waits its 60 s timeout
    assert len(outcome) == 1 and isinstance(outcome[0], PoolClosed)
    pool.checkin(held)
