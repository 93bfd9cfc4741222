"""What a physical connection has under way on the wire, as the code that drives it records it.

Every physical connection the pool opens carries an ``in_flight`` attribute: ``None`` (IDLE)
while nothing of the MySQL protocol is under way, otherwise a word for what is: a statement
sent and its answer not (all) read, rows streaming, a session reset, a ping. A connection is
checked back in, reset for reuse or kept for the next statement only when ``in_flight`` is
None; anything else is *uncertain* (an answer may be half-read, in the client library's buffer
or still to come): it is never read again by anyone, and is given up through the pool's
cancellations (pool/cancel.py), because the server may still be running its statement.

The code that drives a command records the state where it is not plain from its control flow.
A statement runs inside one call that either returns with everything read, or raises: its
``except BaseException`` handler marks the connection in flight unless the exception proves the
command over (a driver error, whose error packet the driver read, followed by a drain that
completed). An interruption (``gevent.Timeout``, a killed greenlet, ``KeyboardInterrupt``) at any
point inside the call lands in that handler. So the idle -> sent -> idle transitions of a
completed statement cost nothing: writing the attribute around every statement cost ~10k
client instructions per ``atomic()`` with two inserts (mysqlclient's connection is a C type's
subclass, whose attribute writes take the slow generic path; measured with callgrind). A state
that outlives a call is written when it starts: rows streaming from a server-side cursor.
"""

from __future__ import annotations

from typing import Any

IDLE = None
STATEMENT = "statement"
STREAM = "streaming rows"
RESET = "session reset"
PING = "ping"
SETUP = "session setup"


def is_idle(connection: Any) -> bool:
    """Whether connection has nothing of the protocol under way (may be handed on)."""
    return getattr(connection, "in_flight", IDLE) is IDLE


def mark_idle(connection: Any) -> None:
    """Record a new connection (or one whose command completed) as idle."""
    connection.in_flight = IDLE
