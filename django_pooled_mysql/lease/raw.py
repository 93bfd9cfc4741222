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

from typing import Any

# Identical on every connection of a pool and answered without touching the session.
SAME_ON_EVERY_CONNECTION = frozenset(
    {
        "character_set_name",
        "charset",
        "client_flag",
        "converter",
        "cursorclass",
        "decoders",
        "encoding",
        "errorhandler",
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


class DriverSetting:
    """A driver connection attribute that code sets on the raw connection: reading it answers
    as any pooled connection does; setting it is refused with what to do instead, because it
    would change one physical connection of many, or none."""

    def __init__(self, alternative: str) -> None:
        self.alternative = alternative
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return instance.__getattr__(self.name)

    def __set__(self, instance: Any, value: Any) -> None:
        raise AttributeError(
            "Setting connection.connection.%s is not supported with a pooled connection: the "
            "raw connection stands for every connection of the pool. %s"
            % (self.name, self.alternative)
        )


IN_OPTIONS = "Pass it in DATABASES[alias]['OPTIONS'] so that every pooled connection gets it."
