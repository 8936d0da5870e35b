"""Celery application.

With REDIS_URL unset, tasks run eagerly in the calling process (embedded mode). With REDIS_URL
set, Redis is broker and result store and tasks run in `celery -A config worker`.

Periodic jobs are declared here, in one place, each with why it runs when it does.
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("ncms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic jobs (celery beat), all declared here, each with the reason for its schedule.
app.conf.beat_schedule = {}

# Monthly fund report (基金运行月报): on the 1st at 02:00 county time (CELERY_TIMEZONE is
# Asia/Shanghai), once the last month's payouts are all booked and before office hours, store
# last month's report as version 1 (does nothing when a version exists; see fund.tasks).
from celery.schedules import crontab  # noqa: E402

app.conf.beat_schedule["monthly fund report"] = {
    "task": "fund.tasks.fund_report_store_last_month",
    "schedule": crontab(minute=0, hour=2, day_of_month=1),
}

# Nightly claim flags (疑点): at 01:30 county time, after the day's settlements and reviews and
# before office hours, store the flags of claims new or changed in the last 48 hours (their
# discharge months and the months after), so the reviewers' queue shows them in the morning.
# Idempotent (see oversight.tasks.claim_flags_refresh).
app.conf.beat_schedule["nightly claim flags"] = {
    "task": "oversight.tasks.claim_flags_refresh",
    "schedule": crontab(minute=30, hour=1),
}

# Interrupted background jobs (a worker killed, its machine stopped): every minute, an import job
# whose worker's heartbeat expired (JOB_HEARTBEAT_TIMEOUT, 60 s) is handed out again, at most
# JOB_REDELIVER_MAX times, so it runs again within about two minutes of its worker's death instead
# of waiting for the broker's visibility timeout. Safe to run twice at once (see
# enrollment.tasks.import_job_redeliver).
app.conf.beat_schedule["redeliver interrupted jobs"] = {
    "task": "enrollment.import_jobs_redeliver",
    "schedule": 60.0,
    # a sweep still waiting when the next one is due (workers down) is dropped, not piled up
    "options": {"expires": 55},
}
