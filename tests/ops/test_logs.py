"""Structured logs: one JSON access line per request with its request id, no personal data."""
import io
import json
import logging
import os
import re
import subprocess
import sys
import warnings

import pytest
from django.conf import settings as django_settings

from accounts.models import Role
from config.celery import app as celery_app
from core.logs import ContextFilter, JsonFormatter, RedactFilter, redact
from tests.conftest import PASSWORD

ID_NUMBER = "420102199001011234"


@pytest.fixture
def json_lines():
    """The root logger's records as the production console handler writes them (JSON, with the
    context and redaction filters); returns a function giving the parsed lines so far."""
    stream = io.StringIO()
    showwarning = warnings.showwarning
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactFilter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    def lines(*, clear: bool = False):
        parsed = [json.loads(line) for line in stream.getvalue().splitlines()]
        if clear:
            stream.seek(0)
            stream.truncate()
        return parsed

    yield lines
    root.removeHandler(handler)
    root.setLevel(previous_level)
    if warnings.showwarning is not showwarning:  # the JSON formatter routes warnings to logging
        logging.captureWarnings(False)


def access_lines(lines):
    return [line for line in lines if line["logger"] == "ncms.access"]


@pytest.mark.django_db
def test_a_request_writes_one_json_access_line_and_echoes_its_request_id(client, make_user, township, json_lines):
    user = make_user(Role.TOWNSHIP_CLERK, township=township, username="wang-clerk", full_name="王小明")
    client.login(username=user.username, password=PASSWORD)
    json_lines(clear=True)  # the login's own lines (django-axes) are not this request's

    response = client.get(f"/enrollment/households/?q={ID_NUMBER}&phone=13912345678",
                          HTTP_X_REQUEST_ID="req-42.a")

    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-42.a"
    lines = json_lines()
    [line] = access_lines(lines)
    assert line["method"] == "GET"
    assert line["path"] == "/enrollment/households/"  # no query string
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["user_id"] == user.pk
    assert line["request_id"] == "req-42.a"
    assert line["level"] == "INFO" and line["time"]
    # every line of the request carries its id, and none carries the user's name or the query
    text = json.dumps(lines, ensure_ascii=False)
    for secret in (ID_NUMBER, "13912345678", "wang-clerk", "王小明"):
        assert secret not in text


@pytest.mark.django_db
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_fresh_one(client, json_lines):
    first = client.get("/public/", HTTP_X_REQUEST_ID="bad id\r\nX-Injected: 1")
    second = client.get("/public/")

    ids = [first["X-Request-ID"], second["X-Request-ID"]]
    assert all(re.fullmatch(r"[0-9a-f]{32}", value) for value in ids)
    assert ids[0] != ids[1]
    assert [line["request_id"] for line in access_lines(json_lines())] == ids
    assert [line["user_id"] for line in access_lines(json_lines())] == [None, None]


@pytest.mark.django_db
def test_an_id_number_in_the_path_is_masked_in_every_line(client, json_lines):
    response = client.get(f"/api/v1/members/{ID_NUMBER}/")

    assert response.status_code in (401, 403)
    lines = json_lines()
    [line] = access_lines(lines)
    assert line["path"] == "/api/v1/members/[ID]/"
    assert line["route"] == "/api/v1/members/<str:id_number>/"
    # Django's own warning ("Unauthorized: /api/v1/members/…/") is masked too
    assert any(entry["logger"] == "django.request" for entry in lines)
    assert ID_NUMBER not in json.dumps(lines)


def test_redact_masks_id_numbers_phones_and_query_strings():
    assert redact(f'"GET /public/lookup/?id={ID_NUMBER} HTTP/1.1" 200') == '"GET /public/lookup/ HTTP/1.1" 200'
    assert redact(f"member {ID_NUMBER[:-1]}X phone 13912345678") == "member [ID] phone [PHONE]"
    assert redact("invoice F001-2026-000123 of 2026-03-08") == "invoice F001-2026-000123 of 2026-03-08"


@celery_app.task(name="tests.ops.log_probe")
def log_probe():
    logging.getLogger("tests.ops").info("probe ran")


def test_a_task_logs_with_its_task_id(json_lines):
    result = log_probe.apply(task_id="task-7f3a")  # runs here, in this process, on every setting

    assert result.successful()
    [line] = [line for line in json_lines() if line["logger"] == "tests.ops"]
    assert line["task_id"] == "task-7f3a"
    assert line["request_id"] == "-"


PRODUCTION_PROBE = """
import django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
client = Client()
client.get("/nothing-here/?q=%(id)s", secure=True, HTTP_X_REQUEST_ID="probe-1")
client.get("/healthz")
""" % {"id": ID_NUMBER}


def test_production_settings_write_json_lines_by_default(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "LOG_FORMAT", "LOG_STREAM", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(SECRET_KEY="x" * 60, DEBUG="0", ALLOWED_HOSTS="testserver",
               DATABASE_URL=f"sqlite:///{tmp_path / 'probe.sqlite3'}", DJANGO_SETTINGS_MODULE="config.settings")

    result = subprocess.run([sys.executable, "-c", PRODUCTION_PROBE], env=env, cwd=django_settings.BASE_DIR,
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # logs go to stderr: stdout stays for the commands' data
    lines = [json.loads(line) for line in result.stderr.splitlines()]  # every line is JSON
    access = [line for line in lines if line["logger"] == "ncms.access"]
    # the 404 is logged; a healthy /healthz is not (DEBUG level: probes every few seconds)
    assert [(line["method"], line["path"], line["status"], line["request_id"], line["user_id"])
            for line in access] == [("GET", "/nothing-here/", 404, "probe-1", None)]
    assert ID_NUMBER not in result.stderr


@pytest.mark.parametrize("debug", ["0", "1"])
def test_a_command_prints_nothing_but_its_own_output(tmp_path, debug):
    """django-axes announces itself at INFO when Django starts ("AXES: BEGIN version …"): a command
    prints only what it did and what went wrong, so the axes logger speaks from WARNING up."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "LOG_FORMAT", "LOG_STREAM", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(SECRET_KEY="x" * 60, DEBUG=debug, ALLOWED_HOSTS="testserver",
               DATABASE_URL=f"sqlite:///{tmp_path / 'probe.sqlite3'}", DJANGO_SETTINGS_MODULE="config.settings")

    result = subprocess.run([sys.executable, "manage.py", "check"], env=env, cwd=django_settings.BASE_DIR,
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert "AXES" not in result.stderr
    assert result.stderr == ""


def _percent_encoded(text: str) -> str:
    return "".join(f"%{ord(character):02X}" for character in text)


SPACED_ID = f"{ID_NUMBER[:6]}%20{ID_NUMBER[6:14]}%20{ID_NUMBER[14:]}"


@pytest.mark.django_db
@pytest.mark.parametrize("written", [SPACED_ID, _percent_encoded(ID_NUMBER), f"{ID_NUMBER[:14]}%20{ID_NUMBER[14:]}",
                                     _percent_encoded(f"{ID_NUMBER[:6]} {ID_NUMBER[6:]}")])
def test_a_percent_encoded_id_number_in_the_path_is_masked_in_every_line(client, json_lines, written):
    response = client.get(f"/api/v1/members/{written}/")

    assert response.status_code in (401, 403)
    lines = json_lines()
    [line] = access_lines(lines)
    assert line["path"] == "/api/v1/members/[ID]/"
    dumped = json.dumps(lines)
    for fragment in (ID_NUMBER, ID_NUMBER[:6], ID_NUMBER[6:14], written):
        assert fragment not in dumped


def test_redact_masks_id_numbers_after_percent_decoding():
    raw = f'"GET /api/v1/members/{_percent_encoded(ID_NUMBER)}/ HTTP/1.1" 404'
    assert redact(raw) == '"GET /api/v1/members/[ID]/ HTTP/1.1" 404'
    assert redact(f'"GET /api/v1/members/{SPACED_ID}/ HTTP/1.1" 404') == '"GET /api/v1/members/[ID]/ HTTP/1.1" 404'
    assert redact(f"member {ID_NUMBER[:6]} {ID_NUMBER[6:]}") == "member [ID]"
    # nothing else changes: a percent sign that is no escape, dates, invoice numbers, a duration
    for text in ("rate 95% of 2026", "invoice F001-2026-000123 of 2026-03-08", "GET /x 200 12.3ms",
                 "100%20 done"):
        assert redact(text) == text
