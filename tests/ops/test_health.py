"""/healthz: no login, database and Redis, 503 naming the failed part, never cached."""
import json
import os
import subprocess
import sys
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.db import OperationalError, connection

pytestmark = pytest.mark.django_db


def test_healthy_answers_200_without_login(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    # embedded mode (no REDIS_URL): "not configured"; PostgreSQL + Redis mode: a real PING
    assert body["redis"] == ("ok" if django_settings.REDIS_URL else "not configured")
    assert body["failed"] == []
    assert "no-cache" in response["Cache-Control"]
    assert response["Content-Type"] == "application/json"


def test_redis_on_a_closed_port_is_503_naming_redis_without_the_url(client, settings):
    settings.REDIS_URL = "redis://:s3cret@127.0.0.1:1/6"  # nothing listens on port 1

    response = client.get("/healthz")

    assert response.status_code == 503
    body = json.loads(response.content)
    assert body == {**body, "status": "fail", "database": "ok", "redis": "unavailable", "failed": ["redis"]}
    text = response.content.decode()
    assert "127.0.0.1" not in text and "s3cret" not in text and "redis://" not in text


def test_unreachable_database_is_503_naming_the_database(client):
    down = OperationalError('connection to server at "db.internal" (10.0.0.5), port 5432 failed')
    with mock.patch.object(connection, "ensure_connection", side_effect=down):
        response = client.get("/healthz")

    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["status"] == "fail"
    assert body["database"] == "unavailable"
    assert body["failed"] == ["database"]
    assert "db.internal" not in response.content.decode()


def test_post_is_refused(client):
    assert client.post("/healthz").status_code == 405


PRODUCTION_PROBE = """
import django, json
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
client = Client()
print(json.dumps({"healthz": client.get("/healthz").status_code, "public": client.get("/public/").status_code}))
"""


def test_production_settings_probe_healthz_over_plain_http(tmp_path):
    """With DEBUG off every plain-HTTP request is redirected to HTTPS, except the health check
    that a load balancer sends to the backend over plain HTTP."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(SECRET_KEY="x" * 60, DEBUG="0", ALLOWED_HOSTS="testserver",
               DATABASE_URL=f"sqlite:///{tmp_path / 'probe.sqlite3'}", DJANGO_SETTINGS_MODULE="config.settings")

    result = subprocess.run([sys.executable, "-c", PRODUCTION_PROBE], env=env, cwd=django_settings.BASE_DIR,
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"healthz": 200, "public": 301}
