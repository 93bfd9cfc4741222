"""What each attribute of the raw DB-API connection (``connection.connection``) does.

Django's ``connection.connection`` is a ``PooledConnection``, not a driver connection, but code
written for the stock backend calls driver methods on it. Each name gets the answer the driver
would give, in one of these ways (docs/session-state.md lists them):

- the same on every connection of the pool (same parameters, same server, no round trip or no
  session effect): answered by any pooled connection, no pin;
- the status of this Django connection's previous statement: answered from what was captured
  when that statement ran, because the physical connection that ran it has other users since;
- everything else may read or change the server session: the Django connection pins a physical
  connection until ``close()`` (a session lease, reset before anyone else gets it) and the call
  goes to it.

Names the driver's connection class does not have raise ``AttributeError`` as with the driver.
"""

from __future__ import annotations

# Identical on every connection of a pool and answered without touching the session.
SAME_ON_EVERY_CONNECTION = frozenset(
    {
        "character_set_name",
        "charset",
        "client_flag",
        "converter",
        "decoders",
        "encoding",
        "escape_string",
        "get_character_set_info",
        "get_host_info",
        "get_proto_info",
        "get_server_info",
        "host",
        "port",
        "server_capabilities",
        "server_version",
        "stat",
        "unix_socket",
        "user",
        "_server_version",
    }
)

# The previous statement's status on the driver's connection object (mysqlclient; PyMySQL has
# affected_rows() and insert_id()), served from the values captured when it ran.
STATEMENT_STATUS = frozenset({"affected_rows", "insert_id", "warning_count", "info"})
