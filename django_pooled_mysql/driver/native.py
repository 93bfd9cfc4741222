"""mysqlclient's connection at the C level, through its documented native handle.

mysqlclient (2.1+) gives ``_mysql.connection._get_native_connection()``: a capsule holding the
connection's ``MYSQL *``, so that other C code can work with the same connection. With it and
the client library mysqlclient is linked against, two things become reachable that the Python
API does not offer:

- the server status flags of the last statement, through MariaDB Connector/C's
  ``mariadb_get_infov(MARIADB_CONNECTION_SERVER_STATUS)``: the ``SERVER_SESSION_STATE_CHANGED``
  flag is the server's own report that a statement changed the session (the tracker enabled with
  ``session_track_state_change``), triggers and stored functions included. MySQL's
  libmysqlclient has no getter for the flags (its ``mysql_session_track_get_first()`` reports
  stale entries after result sets, measured), so there is no tracker with it;
- whether a further result set is coming (``mysql_more_results()``), so that gevent_support.py
  can tell a ``next_result()`` that reads from one that answers at once;
- ``COM_RESET_CONNECTION`` through ``mysql_reset_connection()`` (both libraries): the session
  is reset without a new TCP connection or authentication.

Anything missing (PyMySQL, an older mysqlclient, another client library) makes ``native_for()``
return None or leave a capability out, and callers fall back: no tracker, reset by reconnecting.

The flags are asked for after every statement that may change the session unseen, so the
getter's cost counts (~0.6 us through ctypes). The flags are a field of the ``MYSQL`` struct
(``server_status``), which the getter only reads: once per process, the field's offset is found
by comparing the struct's words with the getter's answer for two different statuses, and each
connection then reads the field directly (~0.05 us), after checking it against the getter once.
Where the offset is not found unambiguously, the getter is used.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable
from typing import Any

SERVER_SESSION_STATE_CHANGED = 0x4000
SERVER_MORE_RESULTS_EXISTS = 0x0008
# Where server_status may lie in the MYSQL struct (4-byte aligned; the struct is ~1 KB).
_OFFSETS = range(0, 1280, 4)
_CAPSULE_NAME = b"_mysql.connection.native_connection"


class _Library:
    """The C functions, looked up once in the library mysqlclient's extension links against."""

    def __init__(self, module_file: str) -> None:
        lib = ctypes.CDLL(module_file)
        self.capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
        self.capsule_pointer.restype = ctypes.c_void_p
        self.capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
        # A local read of the struct: called with the GIL held (PyDLL), arguments prebuilt.
        self.get_info: Any = getattr(ctypes.PyDLL(module_file), "mariadb_get_infov", None)
        self.server_status_value = ctypes.c_int(_server_status_enum())
        # Offset of server_status in the MYSQL struct once found (None: not found, use get_info).
        self.status_offset: int | bool | None = False
        # mysql_more_results(): the SERVER_MORE_RESULTS_EXISTS flag of the last result, a local
        # read of the struct (both client libraries have it).
        self.more_results: Any = getattr(ctypes.PyDLL(module_file), "mysql_more_results", None)
        if self.more_results is not None:
            self.more_results.argtypes = [ctypes.c_void_p]
            self.more_results.restype = ctypes.c_byte
        # The session-state tracker's entries of the last statement (its system variables).
        self.track_first: Any = getattr(lib, "mysql_session_track_get_first", None)
        self.track_next: Any = getattr(lib, "mysql_session_track_get_next", None)
        for function in (self.track_first, self.track_next):
            if function is not None:
                function.argtypes = [
                    ctypes.c_void_p,
                    ctypes.c_int,
                    ctypes.POINTER(ctypes.c_void_p),
                    ctypes.POINTER(ctypes.c_size_t),
                ]
                function.restype = ctypes.c_int
        self.reset: Any = getattr(lib, "mysql_reset_connection", None)
        if self.reset is not None:
            self.reset.argtypes = [ctypes.c_void_p]
            self.reset.restype = ctypes.c_int


def _server_status_enum() -> int:
    # Position of MARIADB_CONNECTION_SERVER_STATUS in Connector/C's enum mariadb_value
    # (mysql.h); the enum only ever grew at its end.
    return 30


_library: _Library | bool | None = False


def _load() -> _Library | None:
    global _library
    if _library is False:
        try:
            from MySQLdb import _mysql

            _library = _Library(str(_mysql.__file__))
        except (ImportError, OSError, AttributeError):
            _library = None
    return _library  # type: ignore[return-value]


class Native:
    """One mysqlclient connection's C-level handle and what it can do."""

    __slots__ = ("_cell", "_connection", "_library", "_pointer", "_status", "_status_ref")

    def __init__(self, library: _Library, connection: Any, pointer: int) -> None:
        self._library = library
        # Keeps the connection (and so the MYSQL struct) alive as long as this handle.
        self._connection = connection
        self._pointer = ctypes.c_void_p(pointer)
        self._status = ctypes.c_uint()
        self._status_ref = ctypes.byref(self._status)
        self._cell: Any = None

    def _read_status(self) -> int:
        library = self._library
        library.get_info(self._pointer, library.server_status_value, self._status_ref)
        return self._status.value

    def _find_status_field(self) -> None:
        # See the module docstring. Runs a statement (DO 0) on this connection once per process.
        library = self._library
        base = self._pointer.value or 0
        first = self._read_status()
        words = [(offset, ctypes.c_uint.from_address(base + offset)) for offset in _OFFSETS]
        candidates = [(offset, word) for offset, word in words if word.value == first]
        self._connection.query(b"DO 0")  # an OK packet without SERVER_SESSION_STATE_CHANGED
        second = self._read_status()
        found = [offset for offset, word in candidates if word.value == second]
        library.status_offset = found[0] if first != second and len(found) == 1 else None

    def watch_status(self) -> None:
        """Read the status field directly from now on, if its offset is known and checks out."""
        library = self._library
        if library.get_info is None:
            return
        if library.status_offset is False:
            self._find_status_field()
        offset = library.status_offset
        if isinstance(offset, int) and offset is not True:
            cell = ctypes.c_uint.from_address((self._pointer.value or 0) + offset)
            if cell.value == self._read_status():
                self._cell = cell

    @property
    def tracks_state(self) -> bool:
        """Whether state_changed() can answer (MariaDB Connector/C)."""
        return self._library.get_info is not None

    def state_changed(self) -> bool:
        """Whether the last statement's OK packet carried SERVER_SESSION_STATE_CHANGED."""
        cell = self._cell
        status = cell.value if cell is not None else self._read_status()
        return bool(status & SERVER_SESSION_STATE_CHANGED)

    def tracked_variables(self) -> dict[str, str] | None:
        """The session system variables the last statement set, as the server reported them
        (``session_track_system_variables``: {lower-case name: value}), or None where they
        cannot be read (not MariaDB Connector/C, whose getter is reliable: module docstring)."""
        library = self._library
        if library.get_info is None or library.track_first is None or library.track_next is None:
            return None
        data = ctypes.c_void_p()
        length = ctypes.c_size_t()
        entries = []
        step = library.track_first
        # Entries come as name, value, name, value, ... (SESSION_TRACK_SYSTEM_VARIABLES = 0).
        while step(self._pointer, 0, ctypes.byref(data), ctypes.byref(length)) == 0:
            raw = ctypes.string_at(data.value, length.value) if data.value else b""
            entries.append(raw.decode("utf-8", "replace"))
            step = library.track_next
        return {
            entries[index].lower(): entries[index + 1] for index in range(0, len(entries) - 1, 2)
        }

    @property
    def can_reset(self) -> bool:
        """Whether reset() is available."""
        return self._library.reset is not None

    def reset(self) -> bool:
        """Send COM_RESET_CONNECTION; True if the server reset the session."""
        return bool(self._library.reset(self._pointer) == 0)


def native_for(connection: Any) -> Native | None:
    """The C-level handle of a mysqlclient connection, or None (PyMySQL, old mysqlclient)."""
    get_capsule = getattr(connection, "_get_native_connection", None)
    if get_capsule is None:
        return None
    library = _load()
    if library is None:
        return None
    pointer = library.capsule_pointer(get_capsule(), _CAPSULE_NAME)
    if not pointer:
        return None
    return Native(library, connection, pointer)


def more_results_check(connection: Any) -> Callable[[], int] | None:
    """A function answering, without reading anything, whether mysqlclient's connection has a
    further result set to read (non-zero) or its next_result() will answer -1 at once; None
    where that cannot be asked (PyMySQL, another client library). It holds the struct's
    address only, not the connection: store it on the connection itself.

    It is asked before and after every statement under gevent, so it reads the status field
    directly where its offset is known (~0.05 us; mysql_more_results() reads the same flag,
    ~0.7 us through ctypes)."""
    native = native_for(connection)
    if native is None:
        return None
    if native.tracks_state:
        native.watch_status()
    cell = native._cell
    if cell is not None:
        return lambda: cell.value & SERVER_MORE_RESULTS_EXISTS
    if native._library.more_results is None:
        return None
    return functools.partial(native._library.more_results, native._pointer)
