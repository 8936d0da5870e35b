"""Liveness of background jobs: is a worker still on this job, or did it die?

A job record (a roster import, an export…) says what the job should be doing ("importing"), not
whether anyone still does it: a worker killed with SIGKILL, or a machine that lost power, leaves it
saying "importing" for ever. Two signs tell:

- a heartbeat (`heartbeat(name)`): while it works, the process refreshes a cache key every
  JOB_HEARTBEAT_INTERVAL seconds from a thread of its own, with a time-to-live of
  JOB_HEARTBEAT_TIMEOUT seconds. The key goes when the process dies; the job is then lost within
  JOB_HEARTBEAT_TIMEOUT seconds. A second key, kept a day, says that a worker took the job (so a
  job still "queued" whose worker died before it marked the job as started is seen too);
- on PostgreSQL, a session advisory lock (`advisory_lock`) held while it works, which the server
  drops with the worker's connection. It vouches for a job whose heartbeat the cache lost (Redis
  restarted or unreachable: the fail-soft cache answers "missing"), so a running job is never
  taken for lost because of the cache.

`job_lost(name, lock=...)` combines them: the job was taken, its heartbeat has expired, and
(PostgreSQL) nobody holds its lock. Both signs are cheap (one cache read, one pg_locks query).
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection

log = logging.getLogger(__name__)

TAKEN_TIMEOUT = 60 * 60 * 24
PROGRESS_TIMEOUT = 60 * 60 * 24


def heartbeat_interval() -> float:
    return float(getattr(settings, "JOB_HEARTBEAT_INTERVAL", 15))


def heartbeat_timeout() -> float:
    return float(getattr(settings, "JOB_HEARTBEAT_TIMEOUT", 60))


def _beat_key(name: str) -> str:
    return f"jobbeat:{name}"


def _taken_key(name: str) -> str:
    return f"jobtaken:{name}"


def _beat(name: str) -> None:
    # the production cache (core.cache) stores nothing while Redis is down, without raising: the
    # lock vouches for the job meanwhile, and the next beat writes the marks again
    cache.set(_beat_key(name), 1, heartbeat_timeout())
    cache.set(_taken_key(name), 1, TAKEN_TIMEOUT)


@contextmanager
def heartbeat(name: str):
    """Beat for the job `name` (e.g. "importjob:12") while the block runs, from a daemon thread
    (the job's own thread may sit for a while in one database statement). The marks are removed
    when the block ends, however it ends: a finished job is not lost."""
    stop = threading.Event()
    _beat(name)

    def run():
        while not stop.wait(heartbeat_interval()):
            try:
                _beat(name)
            except Exception:  # a bug, not an outage (core.cache swallows those): say so, keep beating
                log.exception("job %s: heartbeat not written", name)

    thread = threading.Thread(target=run, name=f"heartbeat {name}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        cache.delete_many([_beat_key(name), _taken_key(name)])


def forget(name: str) -> None:
    """Remove the marks of a job that is handed out again: its dead worker never removed them."""
    cache.delete_many([_beat_key(name), _taken_key(name)])


def beating(name: str) -> bool:
    """Whether the job's heartbeat is fresh (refreshed within JOB_HEARTBEAT_TIMEOUT seconds)."""
    return cache.get(_beat_key(name)) is not None


def taken(name: str) -> bool:
    """Whether a worker took the job in the last day and did not end it (it may since have died)."""
    return cache.get(_taken_key(name)) is not None or beating(name)


# --- PostgreSQL session advisory locks ----------------------------------------------------------

@contextmanager
def advisory_lock(lock: tuple[int, int]):
    """Hold the session advisory lock `lock` (two int keys: a class of job, the job's id) while the
    block runs; wait for it when another session holds it. A session lock, not a transaction one:
    it outlives the transactions inside the block, and PostgreSQL drops it with the connection when
    the process dies. Elsewhere (SQLite, embedded mode: one writer at a time) it does nothing."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", list(lock))
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", list(lock))
        except DatabaseError:
            log.warning("lock %s: connection lost before the lock was released (it goes with it)", lock)


def advisory_lock_held(lock: tuple[int, int]) -> bool:
    """Whether some session holds the advisory lock now. False where there are no such locks."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND classid = %s AND objid = %s AND objsubid = 2)",
            list(lock),
        )
        return cursor.fetchone()[0]


def job_alive(name: str, lock: tuple[int, int] | None = None) -> bool:
    """A worker is on the job: its heartbeat is fresh, or (PostgreSQL) it holds the job's lock."""
    return beating(name) or (lock is not None and advisory_lock_held(lock))


def job_lost(name: str, lock: tuple[int, int] | None = None, *, started: bool = True) -> bool:
    """The job's worker died: the job was started (`started`, as its record says) or taken, its
    heartbeat expired, and nobody holds its lock. A job still waiting in the queue is not lost."""
    if not started and not taken(name):
        return False
    return not job_alive(name, lock)


# --- progress -----------------------------------------------------------------------------------
# A job's rows done so far, published through the cache (Redis when set) so every process sees it
# at once: a job's own row gets the final figures when the job ends (an update inside the job's
# transaction would be seen by other connections only then anyway).


def progress_key(name: str) -> str:
    return f"{name}:progress"


def progress_publish(name: str, *, done: int, total: int, status: str) -> None:
    percent = min(100, done * 100 // total) if total else 0
    cache.set(progress_key(name), {"done": done, "total": total, "percent": percent, "status": status},
              PROGRESS_TIMEOUT)


def progress_figures(name: str, *, status: str, finished: bool, complete: bool, done: int, total: int) -> dict:
    """{"done", "total", "percent"} of the job `name` in `status`: what it published while it runs
    (when that was said in the status it is in), its row's `done` and `total` otherwise; a
    `complete` job has done everything."""
    cached = None if finished else cache.get(progress_key(name))
    if cached and cached.get("status") == status:
        done, total = cached["done"], cached["total"]
    if complete:
        done = total
    percent = min(100, done * 100 // total) if total else (100 if complete else 0)
    return {"done": done, "total": total, "percent": percent}
