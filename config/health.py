"""`/healthz`: is this web process able to serve? For load balancers and monitoring, no login.

Checks the database (one `SELECT 1`) and, when REDIS_URL is set, Redis (one PING with a one-second
timeout): Redis is the broker, the result store and the cache. Answers 200 with every part "ok"
(Redis "not configured" in the embedded mode), else 503 naming the part that failed. The body
never carries a host name, a connection string or an error text; the failure goes to the log.
Never cached.
"""
from __future__ import annotations

import logging
import time
from functools import lru_cache

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

log = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 1.0
OK, FAILED, NOT_CONFIGURED = "ok", "unavailable", "not configured"


@lru_cache(maxsize=4)
def redis_client(url: str) -> redis.Redis:
    """One client (and connection pool) per URL, with short timeouts: a probe must not hang."""
    return redis.Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS,
        retry_on_timeout=False,
    )


def check_database(alias: str = "default") -> str:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        log.error("health: database check failed (%s)", type(exc).__name__)
        return FAILED
    return OK


def check_redis() -> str:
    if not settings.REDIS_URL:
        return NOT_CONFIGURED
    try:
        redis_client(settings.REDIS_URL).ping()
    except redis.RedisError as exc:
        log.error("health: redis check failed (%s)", type(exc).__name__)
        return FAILED
    return OK


@login_not_required
@never_cache
@require_safe
def healthz(request):
    started = time.perf_counter()
    parts = {"database": check_database(), "redis": check_redis()}
    healthy = all(value in (OK, NOT_CONFIGURED) for value in parts.values())
    body = {
        "status": "ok" if healthy else "fail",
        **parts,
        "failed": [name for name, value in parts.items() if value == FAILED],
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    return JsonResponse(body, status=200 if healthy else 503)
