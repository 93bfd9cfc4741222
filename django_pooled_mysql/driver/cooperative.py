"""Cooperative mysqlclient under gevent: wait for the server's answer on the hub, not inside C.

mysqlclient's ``query()`` sends a statement and blocks in C until the answer arrives, so under
gevent a whole worker waits for every statement, one at a time. mysqlclient also offers
``send_query()``, ``read_query_result()`` and ``fileno()``: send, wait for the socket to become
readable with gevent's ``wait_read`` (other greenlets run meanwhile), then read the answer, which
is already there. Results, errors and warnings are read by the same C code as before. Further
result sets (multi-statements, procedures) are read in gevent's native thread pool, see below.

Used only when the process is monkey-patched by gevent and the driver is mysqlclient; otherwise
nothing here is imported.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

from .native import more_results_check
from .wire import PING


def gevent_patched() -> bool:
    """True if gevent has monkey-patched this process (its sockets are cooperative)."""
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return bool(monkey.is_module_patched("socket"))


def _cooperative_class(base: type) -> type:
    from gevent.socket import wait_read

    read_next: Callable[[Any], int] = base.next_result  # type: ignore[attr-defined]

    class CooperativeConnection(base):
        """A mysqlclient connection whose round trips yield to other greenlets."""

        cooperative = True
        # The driver applies read_timeout inside its blocking reads; the wait for an answer
        # happens in query(), on the hub, so it applies it there too (same error as the
        # driver). Set by cooperative_connect(), which makes connections of this class.
        _read_timeout: float | None = None

        def query(self, query: Any) -> None:
            if isinstance(query, bytearray):
                query = bytes(query)
            self.send_query(query)
            # gevent.Timeout or a kill raised here leaves the answer to come: the caller's
            # in_flight stays set, so the pool never reads this connection again and cancels
            # the statement on the server (wire.py, pool/cancel.py).
            wait_read(self.fileno(), self._read_timeout, _LostDuringQuery)
            self.read_query_result()

        # Set by cooperative_connect(): asks the client library, without reading, whether a
        # further result set is coming (native.py).
        _more_results: Callable[[], int] | None = None

        def next_result(self) -> int:
            # A further result set is often in the client library's buffer already, where the
            # socket cannot tell about it, so waiting for the socket could wait forever; it is
            # read in gevent's native thread pool instead. Most calls (the driver asks before
            # and after every statement) find none and answer -1 at once, without a read.
            more = self._more_results
            if more is None or not more():
                return read_next(self)
            return int(off_the_hub(read_next, self))

        def commit(self) -> None:
            self.query(b"COMMIT")

        def rollback(self) -> None:
            self.query(b"ROLLBACK")

        def autocommit(self, on: bool) -> None:
            on = bool(on)
            if self.get_autocommit() != on:
                self.query(b"SET autocommit=1" if on else b"SET autocommit=0")

    return CooperativeConnection


def off_the_hub(call: Callable[[Any], Any], connection: Any) -> Any:
    """call(connection) in gevent's native thread pool (mysqlclient releases the GIL while it
    reads), so the hub serves other greenlets meanwhile; the driver's read_timeout applies in
    the thread as in any blocking read.

    A greenlet interrupted while it waits (gevent.Timeout, kill) returns at once; the thread
    goes on with the connection, which the caller's in_flight keeps from being handed on. The
    thread is left on the connection (``native_reader``), so that nobody closes or reads the
    connection while C code in the thread still does (pool/cancel.py waits for it)."""
    import gevent

    def task() -> tuple[Any, BaseException | None]:
        try:
            return call(connection), None
        except Exception as exc:  # returned: gevent's pool would print a raised one
            return None, exc

    running = gevent.get_hub().threadpool.spawn(task)
    try:
        value, error = running.get()
    except BaseException:
        connection.native_reader = running
        raise
    if error is not None:
        raise error
    return value


def native_reader_busy(connection: Any) -> bool:
    """Whether a native thread still works on connection (see off_the_hub())."""
    running = getattr(connection, "native_reader", None)
    return running is not None and not running.ready()


class _LostDuringQuery(Exception):
    """Raised by wait_read() at read_timeout; turned into the driver's own error."""

    def __new__(cls, *args: Any) -> Any:  # gevent raises the class it was given
        from MySQLdb import OperationalError

        # What mysqlclient raises when read_timeout passes in a blocking read (measured).
        return OperationalError(2013, "Lost connection to server during query")


_classes: dict[type, type] = {}


def cooperative_connect(database: Any, params: dict[str, Any]) -> Any:
    """Open a mysqlclient connection whose queries wait on the gevent hub.

    The connect itself (TCP, handshake, authentication) runs in gevent's native thread pool, so
    the hub keeps serving other greenlets while it happens; mysqlclient releases the GIL there.
    It goes through the driver's ``connect()``, so that a tracer that wraps it (OpenTelemetry,
    ddtrace, ...) returns its proxy as with any other connection; the driver's connection
    behind the proxy then becomes cooperative (a subclass that adds only methods).
    """
    import gevent

    base = _connection_class(database)
    cls = _classes.get(base)
    if cls is None:
        cls = _classes[base] = _cooperative_class(base)

    def connect() -> tuple[Any, BaseException | None]:
        # Returned, not raised: gevent's thread pool prints a traceback for every exception
        # that leaves a task, and a refused connect (1040 under load) is routine here.
        try:
            return database.connect(**params), None
        except Exception as exc:
            return None, exc

    running = gevent.get_hub().threadpool.spawn(connect)
    try:
        conn, error = running.get()
    except BaseException:
        # Interrupted (gevent.Timeout, kill) while the native thread connects: it goes on, and
        # its connection is a session on the server until closed. It is closed when the thread
        # is done, and only then is the caller's place in the pool given back (take_late()).
        late = _late[gevent.getcurrent()] = LateConnect()
        running.rawlink(late.arrived)
        raise
    if error is not None:
        raise error
    driver_connection = conn
    # A tracer's proxy (wrapt's ObjectProxy and its copies) keeps the connection here.
    while type(driver_connection) is not base and hasattr(driver_connection, "__wrapped__"):
        driver_connection = driver_connection.__wrapped__
    if type(driver_connection) is base:
        driver_connection.__class__ = cls
        read_timeout = params.get("read_timeout")
        driver_connection._read_timeout = float(read_timeout) if read_timeout else None
        driver_connection._more_results = more_results_check(driver_connection)
    return conn


def _connection_class(database: Any) -> Any:
    # MySQLdb imports its `connections` submodule only on first connect.
    try:
        return importlib.import_module(database.__name__ + ".connections").Connection
    except (ImportError, AttributeError):
        return None


def is_mysqlclient(database: Any) -> bool:
    """True for mysqlclient (PyMySQL installed as MySQLdb is cooperative already)."""
    return hasattr(_connection_class(database), "send_query")


def ping(connection: Any) -> None:
    """A round trip on connection that waits on the hub for a cooperative connection (whose
    ping() would block the hub in C), with the driver's ping() otherwise. Interrupted, the
    connection stays in flight (wire.py)."""
    try:
        if getattr(connection, "cooperative", False):
            connection.query(b"DO 0")
        else:
            connection.ping()
    except BaseException:
        connection.in_flight = PING
        raise


class LateConnect:
    """A cooperative connect whose caller was interrupted while the native thread still made it.

    The pool gives the caller's place back only once the connection the thread made, if any, is
    closed: until then it is (or may become) a session on the server. ``arrived()`` runs in the
    hub when the thread is done and hands the close to a greenlet; ``then()`` gets the pool's
    release, whichever of the two comes first.
    """

    def __init__(self) -> None:
        self._release: Callable[[], object] | None = None
        self._done = False

    def arrived(self, running: Any) -> None:
        """The thread is done (a gevent link: runs in the hub, which must not block, so the
        close and the release run in a greenlet of their own)."""
        import gevent

        gevent.spawn(self._close, running)

    def _close(self, running: Any) -> None:
        try:
            conn, _error = running.get(block=False)
            if conn is not None:
                conn.close()
        except Exception:
            pass
        self._done = True
        if self._release is not None:
            self._release()

    def then(self, release: Callable[[], object]) -> None:
        """Run release once the late connection is closed (now, if it already is)."""
        self._release = release
        if self._done:
            release()


# The late connect of each interrupted greenlet, until the pool takes it (take_late()).
_late: dict[Any, LateConnect] = {}


def take_late() -> LateConnect | None:
    """The late connect the calling greenlet's interrupted connect left, if any (pool/pool.py)."""
    if not _late:
        return None
    import gevent

    return _late.pop(gevent.getcurrent(), None)
