"""The pool's idle connection records: cheap when nobody waits, fair when some do.

A lease is taken per statement, so taking and returning a connection is the hot path. While
nobody waits, ``take()`` and ``put()`` are single deque operations, which are atomic, and no lock
is taken (SQLAlchemy's own queue takes an RLock and notifies a Condition on every get and put:
~4 us a checkout and checkin here).

Callers that must wait line up in arrival order, and ``put()`` hands its record straight to the
first of them. Without that hand-off, a thread running statement after statement returns its
connection and takes it again before a merely woken waiter gets to run, so waiters time out while
connections are returned all the time (measured: 8 threads on a 1-connection pool, 16
PoolTimeouts in 6 s, one thread doing all the work). A newcomer does not take a record while
others wait.

No lost hand-offs: a waiter registers (under the lock) before it looks at the deque, and a put
looks for waiters after appending, so either the waiter's look finds the record or the put finds
the waiter. Knows nothing of connections, Django or SQLAlchemy: records are opaque.
"""

from __future__ import annotations

import collections
import itertools
import threading
from collections.abc import Iterator
from typing import Any


class _Waiter:
    """A caller waiting for a record: blocked on its own lock until a put hands one over."""

    __slots__ = ("lock", "record")

    def __init__(self) -> None:
        self.record: Any = None
        self.lock = threading.Lock()
        self.lock.acquire()


class IdleQueue:
    """Idle records in LIFO or FIFO order, with a fair hand-off to waiting callers."""

    def __init__(self, use_lifo: bool = True) -> None:
        self.use_lifo = use_lifo
        self._records: collections.deque[Any] = collections.deque()
        self._pop = self._records.pop if use_lifo else self._records.popleft
        # Looked up at construction so that gevent's monkey-patched locks are used when patched.
        self._lock = threading.Lock()
        self._waiters: collections.deque[_Waiter] = collections.deque()

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[Any]:
        """A snapshot of the idle records, oldest returned first."""
        return iter(list(self._records))

    @property
    def waiting(self) -> int:
        """How many callers are waiting for a record."""
        return len(self._waiters)

    def take(self) -> Any:
        """An idle record, or None when there is none or others are already waiting for one."""
        if self._waiters:
            return None
        try:
            return self._pop()
        except IndexError:
            return None

    def take_matching(self, match: Any, limit: int = 16) -> Any:
        """One of the ``limit`` most recently returned idle records for which match(record) is
        true, or None (also when callers are waiting: they come first)."""
        records = self._records
        if self._waiters:
            return None
        for record in list(itertools.islice(reversed(records), limit)):
            if match(record):
                try:
                    records.remove(record)
                except ValueError:  # taken meanwhile
                    continue
                return record
        return None

    def take_any(self) -> Any:
        """An idle record even if callers are waiting (for closing the pool), or None."""
        try:
            return self._records.popleft()
        except IndexError:
            return None

    def remove(self, record: Any) -> bool:
        """Take a given record out (housekeeping); False if it is not idle any more."""
        try:
            self._records.remove(record)
        except ValueError:
            return False
        return True

    def put_unless_full(self, record: Any, limit: int) -> bool:
        """put() the record unless ``limit`` records are idle already and nobody waits (then
        False: the caller closes it). One call on the hot path of a checkin."""
        records = self._records
        if len(records) >= limit and not self._waiters:
            return False
        records.append(record)
        if self._waiters:
            with self._lock:
                self._hand_off()
        return True

    def put_back(self, record: Any) -> None:
        """Return a record behind the others (the last a LIFO queue hands out): for records
        that were idle longest, after the housekeeper looked at them."""
        if self.use_lifo:
            self._records.appendleft(record)
        else:
            self._records.append(record)
        if self._waiters:
            with self._lock:
                self._hand_off()

    def put(self, record: Any) -> None:
        """Return a record: to the longest-waiting caller if there is one, else to the idle ones."""
        self._records.append(record)
        if self._waiters:
            with self._lock:
                self._hand_off()

    def _hand_off(self) -> None:
        # Called with the lock held: idle records go to the longest-waiting callers.
        waiters, records = self._waiters, self._records
        while waiters and records:
            try:
                record = self._pop()
            except IndexError:  # taken meanwhile by a caller that did not wait
                return
            waiter = waiters.popleft()
            waiter.record = record
            waiter.lock.release()

    def wait(self, timeout: float | None, first: bool = False) -> Any:
        """A record handed over within timeout seconds (in turn with other waiters), or None:
        the wait timed out, or release_waiters() ended it. first: ahead of every waiter (for
        the pool's own work that frees places, such as cancelling a session)."""
        waiter = _Waiter()
        with self._lock:
            if first:
                self._waiters.appendleft(waiter)
            else:
                self._waiters.append(waiter)
            self._hand_off()
        try:
            handed = waiter.lock.acquire(timeout=-1 if timeout is None else max(timeout, 0))
        except BaseException:
            # Interrupted while waiting (gevent.Timeout, KeyboardInterrupt): leave the line, and
            # pass on a record handed over meanwhile, or it would be lost to the pool.
            with self._lock:
                record, waiter.record = waiter.record, None
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            if record is not None:
                self.put(record)
            raise
        if not handed:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                    return None
            # Handed a record (or released) just as the wait timed out.
        return waiter.record

    def release_waiters(self) -> None:
        """End every wait with None (the pool is closing: no record will come)."""
        with self._lock:
            while self._waiters:
                self._waiters.popleft().lock.release()
