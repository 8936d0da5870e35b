"""`/ops/queue/`: the background queue at a glance for the county office (capability ops.view).

Shows, without waiting long on anything:
- how many tasks wait in each Celery queue (Redis LLEN of the queue's lists, priorities included)
  and how many were handed to a worker but not yet acknowledged (acks_late: those run again if the
  worker dies);
- what each worker is running and has reserved (`celery inspect`, answered within
  OPS_INSPECT_TIMEOUT seconds, or "no worker answered");
- the latest roster import jobs (the app's own job records) with their progress, and which of
  them were interrupted (their worker died; the sweep hands them out again).
Redis down or no worker never makes the page fail: it says so. Flower (`make flower`) is the full
view for operators; this page is the one a county officer opens from the system itself.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import redis
from django.conf import settings
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from kombu.exceptions import OperationalError as KombuOperationalError

from accounts.roles import capability_required
from enrollment.models import ImportJob
from enrollment.tasks import import_job_interrupted

from .celery import app as celery_app
from .health import redis_client

log = logging.getLogger(__name__)

INSPECT_TIMEOUT_SECONDS = 0.5
RECENT_JOBS = 20
# kombu's Redis transport keeps one list per queue and priority step: "celery", "celery\x06\x163", …
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (0, 3, 6, 9)
UNACKED_KEY = "unacked"


@dataclass
class QueueStatus:
    mode: str  # "eager" (no Redis: tasks run in the web process), "redis_down" or "ok"
    queues: list[tuple[str, int]] = field(default_factory=list)
    unacked: int | None = None
    workers_answered: bool = False
    workers: list[dict] = field(default_factory=list)


def _queue_keys(name: str) -> list[str]:
    return [name if step == 0 else f"{name}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS]


def queue_lengths(client: redis.Redis, names: list[str]) -> list[tuple[str, int]]:
    pipe = client.pipeline(transaction=False)
    for name in names:
        for key in _queue_keys(name):
            pipe.llen(key)
    counts = pipe.execute()
    width = len(PRIORITY_STEPS)
    return [(name, sum(counts[i * width:(i + 1) * width])) for i, name in enumerate(names)]


def worker_activity(timeout: float) -> list[dict] | None:
    """Per worker: the tasks it runs and has reserved; None when no worker answered in time."""
    inspector = celery_app.control.inspect(timeout=timeout)
    active = inspector.active() or {}
    reserved = inspector.reserved() or {}
    if not active and not reserved:
        return None
    workers = []
    for name in sorted(set(active) | set(reserved)):
        workers.append({
            "name": name,
            # task name, id and start only: arguments are ids, but they are nobody's business here
            "active": [_task_row(task) for task in active.get(name, [])],
            "reserved": [_task_row(task) for task in reserved.get(name, [])],
        })
    return workers


def _task_row(task: dict) -> dict:
    started = task.get("time_start")
    return {
        "name": task.get("name", ""),
        "id": task.get("id", ""),
        "started": datetime.fromtimestamp(started, tz=timezone.get_current_timezone())
        if started else None,
    }


def queue_status(timeout: float = INSPECT_TIMEOUT_SECONDS) -> QueueStatus:
    if not settings.REDIS_URL:
        return QueueStatus(mode="eager")
    client = redis_client(settings.REDIS_URL)
    names = sorted(celery_app.amqp.queues.keys()) or [celery_app.conf.task_default_queue]
    try:
        queues = queue_lengths(client, names)
        unacked = client.hlen(UNACKED_KEY)
    except redis.RedisError as exc:
        log.warning("ops: redis unavailable (%s)", type(exc).__name__)
        return QueueStatus(mode="redis_down")
    status = QueueStatus(mode="ok", queues=queues, unacked=unacked)
    try:
        workers = worker_activity(timeout)
    except (redis.RedisError, KombuOperationalError, OSError) as exc:
        log.warning("ops: celery inspect failed (%s)", type(exc).__name__)
        workers = None
    status.workers_answered = workers is not None
    status.workers = workers or []
    return status


@capability_required("ops.view")
@never_cache
def queue(request):
    jobs = (ImportJob.objects.for_user(request.user).select_related("township")
            .only("original_name", "year", "status", "total_rows", "processed_rows", "task_id",
                  "created_at", "finished_at", "township__name")[:RECENT_JOBS])
    jobs = list(jobs)
    return render(request, "ops/queue.html", {
        "status": queue_status(getattr(settings, "OPS_INSPECT_TIMEOUT", INSPECT_TIMEOUT_SECONDS)),
        "jobs": jobs,
        # their worker died (enrollment.tasks): the sweep hands them out again
        "interrupted": {job.pk for job in jobs if import_job_interrupted(job)},
        "pending_states": {ImportJob.Status.QUEUED, ImportJob.Status.IMPORTING, ImportJob.Status.VALIDATING},
    })
