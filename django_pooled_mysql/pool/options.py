"""Parse and validate ``DATABASES[alias]["OPTIONS"]["pool"]``; all its errors are raised here."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any


def improperly_configured(message: str) -> Exception:
    """Django's ImproperlyConfigured, imported only when raised: this module (and the pool that
    uses it) imports nothing of Django."""
    from django.core.exceptions import ImproperlyConfigured

    return ImproperlyConfigured(message)


@dataclasses.dataclass(frozen=True)
class PoolOptions:
    """Validated pool settings for one alias."""

    # SQLAlchemy QueuePool's own arguments.
    pool_size: int = 5
    max_overflow: int = 10
    timeout: float = 30.0
    # SQLAlchemy's name for a lifetime without spread; set it or max_lifetime, not both.
    recycle: float | None = None
    pre_ping: bool = True
    # LIFO (unlike QueuePool's default): with a lease per statement, FIFO hands each statement
    # to a different idle connection, waking a cold server thread every time; measured here,
    # SELECT 1 cost 222 us round-robin over two idle connections against 111 us with LIFO.
    # LIFO also lets surplus connections sit idle long enough to be recycled.
    use_lifo: bool = True
    # The backend's own: a checkout pings a connection only if it sat idle longer than this, so
    # busy connections never pay a round trip per statement.
    ping_after: float = 1.0
    # Log a WARNING, with the stack where it was taken, for a transaction or session pin held
    # longer than this many seconds. None (the default) turns the check off.
    leak_warning_after: float | None = None
    # Idle and lifetime management, done by the process's housekeeper off the request path
    # (psycopg_pool's min_size/max_idle/max_lifetime, HikariCP's minimumIdle/idleTimeout/
    # maxLifetime/keepaliveTime; docs/configuration.md maps them). Open connections idle longer
    # than idle_timeout are closed, down to min_idle; overflow connections stay while load comes
    # back within idle_timeout (instead of being closed as they come back, as QueuePool does).
    min_idle: int = 1
    idle_timeout: float | None = 300.0
    # A connection is retired after this many seconds less a random 0-10 % (so that connections
    # opened together do not all expire together), when it is next idle.
    max_lifetime: float | None = 3600.0
    # Connections idle longer than this are pinged by the housekeeper, so that the server's
    # wait_timeout (or a firewall's idle timeout) does not drop them.
    keepalive_time: float | None = 120.0
    # TCP keepalive on every pooled socket: after this many idle seconds the kernel probes the
    # peer (every tcp_keepalive / 6 s, at least 1 s, 3 times), so that a silent partition ends a
    # statement that waits with no read_timeout after about twice this, not the OS default of
    # more than two hours. None leaves the sockets as the driver made them.
    tcp_keepalive: float | None = 60.0
    # Under gevent monkey-patching with mysqlclient, wait for the server on the hub instead of
    # blocking the whole worker in C (gevent_support.py). False keeps mysqlclient's blocking calls.
    cooperative: bool = True
    # Log a WARNING when a checkout waited longer than this many seconds for a connection (all
    # in use, or the server refusing new ones). A healthy pool hands a connection over within a
    # statement's time; a second's wait means every connection was held for a second or more,
    # which a site wants to hear of well before the 30 s timeout turns waits into PoolTimeout.
    # None turns it off.
    checkout_warning_after: float | None = 1.0

    @property
    def max_connections(self) -> int:
        """The most physical connections one process may hold for this alias."""
        return self.pool_size + self.max_overflow

    @property
    def lifetime(self) -> float | None:
        """Seconds a connection may live: recycle (exact) or max_lifetime (less a spread)."""
        return self.recycle if self.recycle is not None else self.max_lifetime

    @property
    def idle_limit(self) -> float | None:
        """The longest an idle pooled connection goes without a ping or a close (None: no
        limit): what must stay below the server's wait_timeout. Connections above the floor
        are also closed at idle_timeout, but the floor's (min_idle) only by keepalive or age."""
        limits = [self.keepalive_time, self.lifetime]
        if self.min_idle == 0:
            limits.append(self.idle_timeout)
        known = [limit for limit in limits if limit is not None]
        return min(known) if known else None

    @property
    def housekeeping_period(self) -> float:
        """How often the housekeeper looks at this pool's idle connections (seconds)."""
        # max_lifetime's spread (its last 10 %) is only kept if rounds come within it.
        spread = self.max_lifetime * 0.1 if self.max_lifetime is not None else None
        limits = [
            value
            for value in (self.idle_timeout, self.keepalive_time, self.recycle, spread)
            if value is not None
        ]
        return min(max(min(limits, default=30.0) / 4, 0.25), 30.0)


_FIELDS = {field.name: field for field in dataclasses.fields(PoolOptions)}
_RULES = {
    "pool_size": ("an integer >= 1", lambda v: _is_int(v) and v >= 1),
    "max_overflow": ("an integer >= 0", lambda v: _is_int(v) and v >= 0),
    "timeout": ("a number of seconds > 0", lambda v: _is_number(v) and v > 0),
    "recycle": (
        "None or a number of seconds > 0",
        lambda v: v is None or (_is_number(v) and v > 0),
    ),
    "pre_ping": ("True or False", lambda v: isinstance(v, bool)),
    "use_lifo": ("True or False", lambda v: isinstance(v, bool)),
    "cooperative": ("True or False", lambda v: isinstance(v, bool)),
    "ping_after": ("a number of seconds >= 0", lambda v: _is_number(v) and v >= 0),
    "leak_warning_after": (
        "None or a number of seconds > 0",
        lambda v: v is None or (_is_number(v) and v > 0),
    ),
    "min_idle": ("an integer >= 0", lambda v: _is_int(v) and v >= 0),
    "idle_timeout": (
        "None or a number of seconds > 0",
        lambda v: v is None or (_is_number(v) and v > 0),
    ),
    "max_lifetime": (
        "None or a number of seconds > 0",
        lambda v: v is None or (_is_number(v) and v > 0),
    ),
    "keepalive_time": (
        "None or a number of seconds > 0",
        lambda v: v is None or (_is_number(v) and v > 0),
    ),
    "tcp_keepalive": (
        "None or a number of seconds >= 1",
        lambda v: v is None or (_is_number(v) and v >= 1),
    ),
    "checkout_warning_after": (
        "None or a number of seconds > 0",
        lambda v: v is None or (_is_number(v) and v > 0),
    ),
}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_pool_option(alias: str, value: Any) -> PoolOptions | None:
    """``OPTIONS["pool"]`` as PoolOptions, or None when pooling is switched off (``False``)."""
    where = "DATABASES[%r]['OPTIONS']['pool']" % alias
    if value is False:
        return None
    if value is True:
        return PoolOptions()
    if not isinstance(value, Mapping):
        raise improperly_configured(
            "%s must be True, False or a dict of pool settings, not %r." % (where, value)
        )
    unknown = sorted(set(value) - set(_FIELDS), key=str)
    if unknown:
        raise improperly_configured(
            "%s has unknown key(s) %s. Valid keys: %s."
            % (where, ", ".join(map(repr, unknown)), ", ".join(_FIELDS))
        )
    for key, given in value.items():
        expected, is_valid = _RULES[key]
        if not is_valid(given):
            raise improperly_configured(
                "%s[%r] must be %s, not %r." % (where, key, expected, given)
            )
    settings = dict(value)  # the user's dict is read, never mutated
    if settings.get("recycle") is not None:
        if settings.get("max_lifetime") is not None:
            raise improperly_configured(
                "%s sets both 'recycle' and 'max_lifetime': they are the same setting "
                "('recycle' is SQLAlchemy's name, without the random spread). Keep one." % where
            )
        settings["max_lifetime"] = None
    options = PoolOptions(**settings)
    if options.min_idle > options.max_connections:
        raise improperly_configured(
            "%s['min_idle'] is %d, above the most connections the pool may open "
            "(pool_size + max_overflow = %d). Lower min_idle or raise pool_size."
            % (where, options.min_idle, options.max_connections)
        )
    return options


def check_conn_max_age(alias: str, conn_max_age: Any) -> None:
    """Refuse CONN_MAX_AGE != 0 with pooling: the pool, not Django, keeps connections open."""
    if conn_max_age != 0:
        raise improperly_configured(
            "DATABASES[%r]['CONN_MAX_AGE'] is %r, but with OPTIONS['pool'] Django's connection "
            "holds no socket between statements, so persistent connections mean nothing here. "
            "Set CONN_MAX_AGE to 0 (the default); to bound how long a pooled connection lives, "
            "set OPTIONS['pool']['max_lifetime'] (seconds)." % (alias, conn_max_age)
        )
