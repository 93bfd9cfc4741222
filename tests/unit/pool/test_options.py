"""OPTIONS["pool"] validation: every bad value is refused with the key and the valid values."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_pooled_mysql.pool.options import PoolOptions, check_conn_max_age, parse_pool_option


def test_true_gives_the_defaults() -> None:
    options = parse_pool_option("default", True)
    assert options == PoolOptions()
    assert (options.pool_size, options.max_overflow, options.timeout) == (5, 10, 30.0)
    assert options.max_connections == 15


def test_false_switches_pooling_off() -> None:
    assert parse_pool_option("default", False) is None


def test_dict_overrides_and_is_not_mutated() -> None:
    given = {"pool_size": 2, "max_overflow": 0, "timeout": 1.5, "recycle": 600, "use_lifo": False}
    snapshot = dict(given)
    options = parse_pool_option("default", given)
    assert given == snapshot
    assert options is not None
    assert (options.pool_size, options.max_overflow, options.timeout) == (2, 0, 1.5)
    assert (options.recycle, options.use_lifo, options.pre_ping) == (600, False, True)


def test_unknown_key_names_it_and_lists_valid_keys() -> None:
    with pytest.raises(ImproperlyConfigured) as caught:
        parse_pool_option("reports", {"size": 3})
    message = str(caught.value)
    assert "DATABASES['reports']['OPTIONS']['pool']" in message
    assert "'size'" in message
    assert "pool_size" in message and "max_overflow" in message


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("pool_size", 0, "an integer >= 1"),
        ("pool_size", "5", "an integer >= 1"),
        ("pool_size", True, "an integer >= 1"),
        ("max_overflow", -1, "an integer >= 0"),
        ("timeout", 0, "a number of seconds > 0"),
        ("timeout", None, "a number of seconds > 0"),
        ("recycle", -5, "None or a number of seconds > 0"),
        ("pre_ping", 1, "True or False"),
        ("use_lifo", "yes", "True or False"),
        ("ping_after", -1, "a number of seconds >= 0"),
    ],
)
def test_wrong_values_are_refused(key: str, value: object, expected: str) -> None:
    with pytest.raises(ImproperlyConfigured) as caught:
        parse_pool_option("default", {key: value})
    assert "[%r] must be %s, not %r" % (key, expected, value) in str(caught.value)


@pytest.mark.parametrize("value", [None, 5, "yes", ["pool_size"]])
def test_pool_must_be_bool_or_dict(value: object) -> None:
    with pytest.raises(ImproperlyConfigured, match="must be True, False or a dict"):
        parse_pool_option("default", value)


def test_conn_max_age_zero_is_accepted() -> None:
    check_conn_max_age("default", 0)


@pytest.mark.parametrize("value", [60, None])
def test_persistent_conn_max_age_is_refused_with_the_alternative(value: object) -> None:
    with pytest.raises(ImproperlyConfigured) as caught:
        check_conn_max_age("default", value)
    assert "CONN_MAX_AGE" in str(caught.value) and "max_lifetime" in str(caught.value)


def test_idle_and_lifetime_settings_have_sane_defaults_and_limits() -> None:
    options = parse_pool_option("default", True)
    assert options is not None
    assert (options.min_idle, options.idle_timeout) == (1, 300.0)
    assert (options.max_lifetime, options.keepalive_time) == (3600.0, 120.0)
    with pytest.raises(ImproperlyConfigured, match=r"\['min_idle'\] is 6, above .* = 5"):
        parse_pool_option("default", {"pool_size": 3, "max_overflow": 2, "min_idle": 6})
    with pytest.raises(ImproperlyConfigured, match="both 'recycle' and 'max_lifetime'"):
        parse_pool_option("default", {"recycle": 60, "max_lifetime": 600})
    recycled = parse_pool_option("default", {"recycle": 60})
    assert recycled is not None and (recycled.lifetime, recycled.max_lifetime) == (60, None)
