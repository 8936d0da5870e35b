"""A Redis cache that degrades instead of failing when Redis is down.

Nothing the application keeps in the cache is the only copy of anything: the public pages are
rendered again, the API throttles and the public forms' counters start afresh, an import's
progress falls back to the figures on its job row. So when Redis cannot be reached, every cache
call answers as a miss (`get` gives the default, `set` stores nothing, `incr` says the key is not
there) and the page or the API call goes on without the cache, instead of a 500.

Only connection failures and timeouts are treated so; any other Redis error (a wrong type, a
full memory) still raises, because it means a bug or a misconfiguration rather than an outage.

After a failure the cache is skipped for `RETRY_AFTER` seconds (OPTIONS, default 5) before Redis
is tried again, so an outage costs each request nothing rather than a connection timeout per
cache call, and the log gets one warning per window rather than one per call. Sessions are in
the database (SESSION_ENGINE's default), so logging in works with Redis down.
"""
from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)

# location -> monotonic time until which Redis is not tried again; shared by the threads of the
# process (Django keeps one cache object per thread)
_down_until: dict[str, float] = {}
_state_lock = threading.Lock()


class _ReusingClient(RedisCacheClient):
    """Django's client builds a new redis.Redis, with its ~170 response callbacks, for every cache
    call (a quarter of a cached public page's CPU, bench/public_load.py); one per connection pool
    is enough, redis.Redis being safe to share between threads over its pool."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class FailSoftRedisCache(RedisCache):
    """Django's RedisCache that answers as a miss, and logs once per window, when Redis is down."""

    def __init__(self, server, params):
        options = dict(params.get("OPTIONS") or {})
        self.retry_after = float(options.pop("RETRY_AFTER", 5))
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = _ReusingClient
        self._location = server if isinstance(server, str) else ",".join(server)

    # --- the breaker ----------------------------------------------------------------------------

    def _available(self) -> bool:
        until = _down_until.get(self._location)
        return until is None or time.monotonic() >= until

    def _failed(self, operation: str, exc: Exception) -> None:
        with _state_lock:
            first = self._available()
            _down_until[self._location] = time.monotonic() + self.retry_after
        if first:
            # no key and no URL in the message: keys may hold a client's address, URLs a password
            log.warning("cache unavailable (%s during %s): serving without the cache for %.0f s",
                        type(exc).__name__, operation, self.retry_after)

    def _recovered(self) -> None:
        if self._location in _down_until:
            with _state_lock:
                if _down_until.pop(self._location, None) is not None:
                    log.info("cache available again")

    def _call(self, operation: str, default, call):
        if not self._available():
            return default
        try:
            result = call()
        except UNAVAILABLE as exc:
            self._failed(operation, exc)
            return default
        self._recovered()
        return result

    # --- the cache API ----------------------------------------------------------------------------

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", False, lambda: super(FailSoftRedisCache, self).add(key, value, timeout, version))

    def get(self, key, default=None, version=None):
        return self._call("get", default, lambda: super(FailSoftRedisCache, self).get(key, default, version))

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._call("set", None, lambda: super(FailSoftRedisCache, self).set(key, value, timeout, version))

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", False, lambda: super(FailSoftRedisCache, self).touch(key, timeout, version))

    def delete(self, key, version=None):
        return self._call("delete", False, lambda: super(FailSoftRedisCache, self).delete(key, version))

    def get_many(self, keys, version=None):
        return self._call("get_many", {}, lambda: super(FailSoftRedisCache, self).get_many(keys, version))

    def has_key(self, key, version=None):
        return self._call("has_key", False, lambda: super(FailSoftRedisCache, self).has_key(key, version))

    def incr(self, key, delta=1, version=None):
        missing = object()
        result = self._call("incr", missing, lambda: super(FailSoftRedisCache, self).incr(key, delta, version))
        if result is missing:
            # what a cache says of a key it does not hold: callers already handle it (they set it)
            raise ValueError(f"Key '{key}' not found")
        return result

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", list(data),
                          lambda: super(FailSoftRedisCache, self).set_many(data, timeout, version))

    def delete_many(self, keys, version=None):
        self._call("delete_many", None, lambda: super(FailSoftRedisCache, self).delete_many(keys, version))

    def clear(self):
        return self._call("clear", False, lambda: super(FailSoftRedisCache, self).clear())
