"""The SQLAlchemy pieces ConnectionPool relies on: this fails first when an upgrade changes one.

pyproject.toml pins SQLAlchemy to the minors that were tested (2.0 and 2.1, both in tox). Moving
the pin means running this file, then the whole suite, on the new minor.
"""

from __future__ import annotations

import inspect

from sqlalchemy import event
from sqlalchemy.pool import Pool, PoolResetState
from sqlalchemy.pool.base import _ConnectionRecord

from django_pooled_mysql.pool import ConnectionPool


def test_the_pool_implements_sqlalchemys_extension_points() -> None:
    assert issubclass(ConnectionPool, Pool)
    # The two methods Pool leaves to implementations (QueuePool overrides the same ones).
    for name in ("_do_get", "_do_return_conn", "dispose", "recreate", "status"):
        assert name in vars(Pool), name
        assert name in vars(ConnectionPool), name
    # Records are SQLAlchemy's, made by the helper Pool provides for its subclasses.
    assert "_create_connection" in vars(Pool)
    assert inspect.signature(Pool._create_connection).parameters.keys() == {"self"}


def test_the_creator_may_take_the_connection_record() -> None:
    # Pool inspects the creator's signature and passes the record to a one-argument creator.
    assert "_should_wrap_creator" in vars(Pool)
    assert list(inspect.signature(ConnectionPool._connect_record).parameters) == [
        "self",
        "connection_record",
    ]


def test_the_record_interface_the_pool_uses() -> None:
    for name in ("get_connection", "invalidate", "close", "info", "dbapi_connection", "starttime"):
        assert hasattr(_ConnectionRecord, name) or name in _ConnectionRecord.__slots__, name
    assert list(inspect.signature(_ConnectionRecord.invalidate).parameters)[:2] == ["self", "e"]


def test_the_events_and_reset_state_the_pool_dispatches() -> None:
    for name in ("connect", "checkout", "checkin", "invalidate", "reset", "close"):
        assert event.contains(Pool, name, lambda *args: None) is False  # a known event name
    assert {field for field in PoolResetState.__dataclass_fields__} == {
        "transaction_was_reset",
        "terminate_only",
        "asyncio_safe",
    }


def _listen_count(collection: object) -> int:
    return len(collection.listeners) + len(collection.parent_listeners)  # type: ignore[attr-defined]


def test_the_listener_collections_the_hot_path_reads() -> None:
    # checkout()/checkin() test `for_modify(dispatch)`'s `listeners` and `parent_listeners` with
    # two attribute reads instead of dispatching an empty event per statement: the collection
    # made once in __init__ must see a listener added later, at the pool or on Pool itself.
    pool = ConnectionPool("hooks", lambda timeout: None, _options())
    collection = pool.dispatch.checkout.for_modify(pool.dispatch)
    assert collection is pool._on_checkout
    assert _listen_count(collection) == 0
    seen: list[object] = []

    def listener(*args: object) -> None:
        seen.append(args)

    event.listen(pool, "checkout", listener)
    try:
        assert _listen_count(pool._on_checkout) == 1
        pool._on_checkout("connection", "record", None)
        assert seen == [("connection", "record", None)]
    finally:
        event.remove(pool, "checkout", listener)
    event.listen(Pool, "checkin", listener)
    try:
        assert _listen_count(pool._on_checkin) == 1
    finally:
        event.remove(Pool, "checkin", listener)


def _options() -> object:
    from django_pooled_mysql.pool.options import parse_pool_option

    return parse_pool_option("hooks", {})
