"""Fault injection: Redis down, a worker killed, a database
connection lost. Only the fault is injected; the database, Redis and the worker stay real.

- `cache_down` / `broker_down`: the cache and the Celery broker pointed at a port where nothing
  listens (what a stopped Redis looks like to a client).
- `own_worker(queue)`: a real `celery worker` process of our own, on a queue of our own (so the
  session's shared worker never takes its tasks), that a test may SIGKILL.
- `lose_connection(table, when=...)`: the database connection dies right after the first INSERT
  into `table`, before or after the transaction commits (on PostgreSQL the server backend is
  really terminated with pg_terminate_backend; on SQLite the driver's error is raised).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import OperationalError, connection, transaction

DOWN_PORT = 6399
DOWN_URL = f"redis://127.0.0.1:{DOWN_PORT}/5"


def _port_closed(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def cache_down(settings):
    """The default cache is the production backend (core.cache.FailSoftRedisCache) on a Redis that
    does not answer."""
    import core.cache

    assert _port_closed(DOWN_PORT), f"something listens on {DOWN_PORT}: it cannot stand for a stopped Redis"
    settings.CACHES = {"default": {
        "BACKEND": "core.cache.FailSoftRedisCache", "LOCATION": DOWN_URL, "KEY_PREFIX": "ncms",
        # a window longer than any test: "logged once" holds however slowly a loaded machine runs
        # the test (tests/faults/test_cache.py shortens it to see Redis tried again)
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1, "RETRY_AFTER": 300},
    }}
    core.cache._down_until.pop(DOWN_URL, None)
    yield
    core.cache._down_until.pop(DOWN_URL, None)


@contextmanager
def broker_at(url: str):
    """Send this process's tasks to the broker at `url` (never eagerly), then put things back."""
    from config.celery import app

    saved_conf = {"broker_url": app.conf.broker_url, "task_always_eager": app.conf.task_always_eager}
    saved_pools = (app._pool, app.amqp._producer_pool)
    app.conf.broker_url = url
    app.conf.task_always_eager = False
    app._pool, app.amqp._producer_pool = None, None
    try:
        yield
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        app.conf.update(saved_conf)
        app._pool, app.amqp._producer_pool = saved_pools


@pytest.fixture
def broker_down():
    assert _port_closed(DOWN_PORT)
    with broker_at(DOWN_URL):
        yield


# --- a worker of our own ------------------------------------------------------------------------

def _worker_env() -> dict:
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env["MEDIA_ROOT"] = str(settings.BASE_DIR / "var" / "test-media")
    return env


@contextmanager
def own_worker(queue: str, env: dict | None = None):
    """A real worker consuming only `queue`, with `env` added to its environment; yields the
    process (a test may kill it)."""
    from config.celery import app

    name = f"{queue}@%h"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=WARNING",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-Q", queue, "-n", name],
        env={**_worker_env(), **(env or {})}, cwd=settings.BASE_DIR,
    )
    try:
        # ready once it consumes its queue (it answers a ping earlier, before its queue is bound,
        # and a task sent to a queue nobody has bound yet is dropped by the Redis transport)
        deadline = time.time() + 60
        while time.time() < deadline:
            replies = app.control.inspect(timeout=1).active_queues() or {}
            if any(item["name"] == queue for node, queues in replies.items() if node.startswith(f"{queue}@")
                   for item in queues):
                break
            if proc.poll() is not None:
                pytest.fail("our Celery worker exited on start")
        else:
            pytest.fail("our Celery worker did not consume its queue within 60 s")
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        _forget_queue(queue)


def _forget_queue(queue: str) -> None:
    """Drop the killed worker's unacknowledged message of our queue from Redis (it would otherwise
    come back to that queue, which nobody consumes, after the visibility timeout)."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    for tag, payload in client.hgetall("unacked").items():
        if queue.encode() in payload:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)
    client.delete(queue)


def kill_hard(proc) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=20)


def other_connection():
    """A psycopg connection of its own to the test database (autocommit)."""
    import psycopg

    db = settings.DATABASES["default"]
    return psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                           password=db.get("PASSWORD") or None, dbname=db["NAME"], autocommit=True)


def wait_until(predicate, *, timeout: float = 60, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


# --- a lost database connection ----------------------------------------------------------------

class ConnectionLost(OperationalError):
    """What the driver raises when the server went away: an OperationalError."""


def drop_connection() -> None:
    """Lose this thread's database connection the way a network failure or a server restart does."""
    if connection.vendor == "postgresql":
        pid = connection.connection.info.backend_pid
        with other_connection() as other:
            other.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
    raise ConnectionLost("server closed the connection unexpectedly")


def reconnect() -> None:
    """What the next request does with a broken connection (CONN_HEALTH_CHECKS): open a new one.
    SQLite's in-memory test database lives in its one connection and was never dropped."""
    if connection.vendor == "postgresql":
        connection.close()


@contextmanager
def lose_connection(table: str, *, when: str):
    """Drop the connection after the first INSERT into `table`: `when="before_commit"` at once
    (the transaction never commits), `when="after_commit"` right after its commit (the client
    never hears that it committed)."""
    assert when in {"before_commit", "after_commit"}
    fired = []

    def wrapper(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not fired and sql.lstrip().upper().startswith("INSERT") and f'"{table}"' in sql:
            fired.append(sql)
            if when == "after_commit":
                transaction.on_commit(drop_connection)
            else:
                drop_connection()
        return result

    with connection.execute_wrapper(wrapper):
        yield fired
