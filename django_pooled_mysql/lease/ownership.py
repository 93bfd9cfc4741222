"""Who a pinned lease belongs to: one token per thread (per greenlet under gevent).

A pinned lease (a transaction, session state, ``pinned()``, a raw-connection attribute) is held by
a Django connection, and Django keeps one Django connection per thread in thread-local storage.
When a thread or greenlet ends without ``connections.close_all()`` (a ``ThreadPoolExecutor`` shut
down, a finished greenlet), its Django connection is unreachable, but it sits in reference cycles
(``DatabaseWrapper`` and its ``ops``, ``features``, ...) that only the cyclic garbage collector
frees, at a time nobody can predict under load. The lease must not wait for that.

So each thread gets an ``Owner`` token kept in thread-local storage of its own (nothing else holds
it, and it holds nothing): the interpreter frees the token as soon as the thread's local storage
goes, which is at thread exit for a thread and when a gevent greenlet finishes (gevent's local
storage is cleared by a link on the greenlet). A pinned lease keeps a weak reference to its
owner's token whose callback hands the lease to the housekeeper (pool/housekeeping.py).
Callbacks run at awkward moments (thread teardown, the gevent hub, a garbage collection), so
they only enqueue.
"""

from __future__ import annotations

import threading
from typing import Any


class Owner:
    """A thread's (greenlet's) token; its end means the thread's Django connections are gone."""

    __slots__ = ("__weakref__",)


# One storage per local class: threading.local becomes gevent's greenlet-local class once gevent
# has monkey-patched the process, and the class is looked up when a token is first asked for.
_storages: dict[type, Any] = {}


def current_owner() -> Owner:
    """The token of the calling thread (or greenlet), created on first use."""
    local_class = threading.local
    storage = _storages.get(local_class)
    if storage is None:
        storage = _storages.setdefault(local_class, local_class())
    owner: Owner | None = getattr(storage, "owner", None)
    if owner is None:
        owner = storage.owner = Owner()
    return owner
