"""What the server says about its connection limits, read on a DB-API cursor; knows nothing of
Django.

For the system checks (checks.py) and ``manage.py pool_budget``: ``max_connections``, the
account's effective ``max_user_connections`` (the account's own ``MAX_USER_CONNECTIONS`` when it
has one, else the global variable), ``wait_timeout`` as the pool's sessions get it,
``Threads_connected``, ``Max_used_connections`` and the processlist by user and host.

``SHOW CREATE USER`` and ``SHOW GRANTS`` answer the account's password hash along with its
limits: only the number after ``MAX_USER_CONNECTIONS`` is kept, the rest of the text is never
returned, printed or logged.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from typing import Any

_LIMIT = re.compile(r"\bMAX_USER_CONNECTIONS\s+(-?\d+)", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class ServerFacts:
    """One account's view of one server's connection limits and current use."""

    version: str
    account: str  # CURRENT_USER(): the account the limits apply to, e.g. shop@%
    max_connections: int
    # The global variable: 0 means no per-account limit.
    max_user_connections: int
    # The account's own MAX_USER_CONNECTIONS (0: none, the global applies); None if unreadable.
    account_max_user_connections: int | None
    # The session's value: the limit that applies to this account (0: none).
    effective_user_limit: int
    # The session's value, as the pool's connections have it (init_command included).
    wait_timeout: int
    threads_connected: int
    max_used_connections: int
    # (user, host without port, connections), most connections first.
    processlist: tuple[tuple[str, str, int], ...]
    # False when only this account's own threads are visible (no PROCESS privilege).
    processlist_complete: bool

    @property
    def user_limit(self) -> int | None:
        """The account's effective limit, or None when only max_connections applies."""
        return self.effective_user_limit if self.effective_user_limit > 0 else None


def _rows(cursor: Any, sql: str) -> list[tuple[Any, ...]]:
    cursor.execute(sql)
    return list(cursor.fetchall())


def _account_limit(cursor: Any) -> int | None:
    """The account's own MAX_USER_CONNECTIONS, from the statements that show it to any account."""
    # MariaDB 10.2+ and MySQL 5.7+: SHOW CREATE USER; MariaDB also puts it in SHOW GRANTS.
    for sql in ("SHOW CREATE USER CURRENT_USER()", "SHOW GRANTS FOR CURRENT_USER()"):
        try:
            rows = _rows(cursor, sql)
        except Exception:
            continue
        for row in rows:
            found = _LIMIT.search(str(row[0]))
            if found:
                return int(found.group(1))
        if sql.startswith("SHOW CREATE USER"):
            # The statement worked and names no limit: the account has none of its own.
            return 0
    return None


def _host(host: str) -> str:
    # information_schema.PROCESSLIST.HOST is host:port for TCP clients, "localhost" for sockets.
    name, colon, port = host.rpartition(":")
    return name if colon and port.isdigit() else host or "(server thread)"


def read_server_facts(cursor: Any) -> ServerFacts:
    """Read the server's limits and current use on an open cursor of the account to check."""
    (row,) = _rows(
        cursor,
        "SELECT VERSION(), CURRENT_USER(), @@global.max_connections, "
        "@@global.max_user_connections, @@session.max_user_connections, @@session.wait_timeout",
    )
    version, account, max_connections, global_user, session_user, wait_timeout = row
    status = {
        str(name).lower(): int(value)
        for name, value in _rows(
            cursor,
            "SHOW GLOBAL STATUS WHERE Variable_name IN "
            "('Threads_connected', 'Max_used_connections')",
        )
    }
    threads = Counter(
        (str(user), _host(str(host or "")))
        for user, host in _rows(cursor, "SELECT USER, HOST FROM information_schema.PROCESSLIST")
    )
    processlist = tuple(
        (user, host, count)
        for (user, host), count in sorted(threads.items(), key=lambda item: (-item[1], item[0]))
    )
    # Without the PROCESS privilege an account sees only its own threads.
    user, _, host = str(account).rpartition("@")
    grantee = "'%s'@'%s'" % (user.replace("'", "''"), host.replace("'", "''"))
    cursor.execute(
        "SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES "
        "WHERE GRANTEE = %s AND PRIVILEGE_TYPE = 'PROCESS'",
        (grantee,),
    )
    complete = bool(cursor.fetchone()[0])
    return ServerFacts(
        version=str(version),
        account=str(account),
        max_connections=int(max_connections),
        max_user_connections=int(global_user),
        account_max_user_connections=_account_limit(cursor),
        effective_user_limit=int(session_user),
        wait_timeout=int(wait_timeout),
        threads_connected=status.get("threads_connected", 0),
        max_used_connections=status.get("max_used_connections", 0),
        processlist=processlist,
        processlist_complete=complete,
    )
