"""/ops/queue/: the background queue for the county office (ops.view), degrading gracefully."""
from types import SimpleNamespace
from unittest import mock

import pytest
from django.conf import settings as django_settings

from accounts.models import Role
from config.celery import app as celery_app
from core import jobs
from enrollment.models import ImportJob
from enrollment.tasks import job_name
from tests.conftest import PASSWORD

URL = "/ops/queue/"
ALLOWED = {Role.ADMINISTRATOR, Role.FUND_OFFICER, Role.AUDITOR}


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={URL}"


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_only_the_county_office_admin_and_auditor_see_the_queue(client, users_by_role, role, settings):
    settings.OPS_INSPECT_TIMEOUT = 0.2
    login(client, users_by_role[role])

    response = client.get(URL)

    assert response.status_code == (200 if role in ALLOWED else 403)
    if role in ALLOWED:
        assert "后台任务队列" in response.content.decode()


@pytest.mark.django_db
def test_recent_roster_import_jobs_are_listed(client, users_by_role, township):
    admin = users_by_role[Role.ADMINISTRATOR]
    ImportJob.objects.create(year=2026, file="imports/2026/01/r.csv", original_name="东湖村花名册.csv",
                             created_by=admin, township=township, status=ImportJob.Status.QUEUED,
                             total_rows=120, processed_rows=30)
    login(client, admin)

    with mock.patch("config.ops.worker_activity", return_value=None):
        page = client.get(URL).content.decode()

    assert "东湖村花名册.csv" in page
    assert "30 / 120" in page
    assert "已排队" in page
    assert 'class="pending"' in page


@pytest.mark.django_db
def test_a_job_whose_worker_died_is_marked_interrupted(client, users_by_role, township):
    admin = users_by_role[Role.ADMINISTRATOR]
    dead, live = (ImportJob.objects.create(
        year=2026, file="imports/2026/01/r.csv", original_name=name, created_by=admin, township=township,
        status=ImportJob.Status.IMPORTING, total_rows=120) for name in ("死.csv", "活.csv"))
    login(client, admin)

    with mock.patch("config.ops.worker_activity", return_value=None), jobs.heartbeat(job_name(live.pk)):
        page = client.get(URL).content.decode()

    rows = {row.split("</td>")[3].split(">")[-1]: row for row in page.split("<tr")[1:] if ".csv" in row}
    assert "已中断" in rows["死.csv"] and "正在导入" not in rows["死.csv"]
    assert "正在导入" in rows["活.csv"] and "已中断" not in rows["活.csv"]


@pytest.mark.django_db
def test_redis_down_says_so_and_still_answers(client, users_by_role, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/6"  # nothing listens on port 1
    login(client, users_by_role[Role.ADMINISTRATOR])

    response = client.get(URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Redis 无法连接" in page
    assert 'id="queues"' not in page
    assert "127.0.0.1:1" not in page


@pytest.mark.celery_worker
def test_queue_lengths_and_the_live_worker(client, users_by_role, celery_worker, settings):
    """PostgreSQL + Redis: the real worker answers `celery inspect` and the queue is read from
    Redis. Embedded mode: the page says tasks run in the web process."""
    settings.OPS_INSPECT_TIMEOUT = 2.0
    login(client, users_by_role[Role.FUND_OFFICER])

    page = client.get(URL).content.decode()

    if celery_worker is None:
        assert "未配置 Redis" in page and 'id="queues"' not in page
    else:
        assert 'id="queues"' in page and "<td>celery</td>" in page
        assert 'id="workers"' in page and "test-" in page  # the fixture's worker: test-<pid>@host
        assert "没有执行进程应答" not in page


@pytest.mark.django_db
def test_no_worker_answering_is_said_plainly(client, users_by_role, settings):
    if not django_settings.REDIS_URL:
        # the embedded mode has no broker of its own: read the queue from the machine's Redis
        settings.REDIS_URL = "redis://127.0.0.1:6379/6"
    silent = SimpleNamespace(active=lambda: None, reserved=lambda: None)  # what inspect returns then
    login(client, users_by_role[Role.ADMINISTRATOR])

    with mock.patch.object(celery_app.control, "inspect", return_value=silent):
        response = client.get(URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert "没有执行进程应答" in page
    assert 'id="queues"' in page
