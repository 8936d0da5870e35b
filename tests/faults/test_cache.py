"""core.cache.FailSoftRedisCache: with Redis down every call answers as a miss, the outage is
logged once per window, and Redis is tried again after RETRY_AFTER seconds. Errors that are not
an outage still raise."""
import logging
import time

import pytest
import redis
from django.core.cache import cache

import core.cache
from tests.faults.conftest import DOWN_URL


def test_every_call_answers_as_a_miss_while_redis_is_down(cache_down):
    assert cache.get("k") is None
    assert cache.get("k", "fallback") == "fallback"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.set("k", 1) is None
    assert cache.add("k", 1) is False
    assert cache.has_key("k") is False
    assert cache.delete("k") is False
    assert cache.touch("k") is False
    assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
    assert cache.delete_many(["a"]) is None
    assert cache.get_or_set("k", 5) == 5
    with pytest.raises(ValueError):  # what a cache says of a key it does not hold
        cache.incr("k")
    with pytest.raises(ValueError):
        cache.decr("k")


def test_the_outage_is_logged_once_per_window_and_redis_tried_again_after_it(cache_down, settings, caplog):
    settings.CACHES["default"]["OPTIONS"]["RETRY_AFTER"] = 0.3
    settings.CACHES = dict(settings.CACHES)  # a new cache object with the short window
    caplog.set_level(logging.WARNING, logger="core.cache")

    for _ in range(20):
        cache.get("k")
    assert len(caplog.records) == 1
    assert DOWN_URL in core.cache._down_until

    # inside the window Redis is not even tried: the calls cost nothing
    started = time.monotonic()
    for _ in range(200):
        cache.get("k")
    assert time.monotonic() - started < 0.25
    assert len(caplog.records) == 1

    time.sleep(0.35)
    cache.get("k")
    assert len(caplog.records) == 2  # tried again, still down


def test_an_error_that_is_not_an_outage_still_raises(cache_down, monkeypatch):
    from django.core.cache import caches

    default = caches["default"]

    def wrong_type(*args, **kwargs):
        raise redis.exceptions.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value")

    monkeypatch.setattr(default._cache, "get", wrong_type)
    with pytest.raises(redis.exceptions.ResponseError):
        default.get("k")
    assert DOWN_URL not in core.cache._down_until
