"""`make flower` starts Flower only behind basic auth: FLOWER_BASIC_AUTH=user:password from the
environment (Flower reads it there), or it refuses to start."""
import os
import subprocess

import pytest
from django.conf import settings


def make(target, *args, **env_overrides):
    """`make target` that never builds the virtualenv (-o venv) nor finds a Flower to start."""
    env = {k: v for k, v in os.environ.items() if k not in {"FLOWER_BASIC_AUTH", "REDIS_URL", "MAKEFLAGS"}}
    env.update(env_overrides)
    return subprocess.run(["make", "--no-print-directory", "-o", "venv", "VENV=/nonexistent-venv", *args, target],
                          env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("auth", [None, "", "ops", "ops:", ":secret"])
def test_flower_refuses_to_start_without_basic_auth(auth):
    env = {"REDIS_URL": "redis://127.0.0.1:6379/7"}
    if auth is not None:
        env["FLOWER_BASIC_AUTH"] = auth
    result = make("flower", **env)
    assert result.returncode != 0
    assert "FLOWER_BASIC_AUTH" in result.stderr
    assert "celery" not in result.stdout


def test_flower_starts_with_basic_auth_from_the_environment_only():
    result = make("flower", "-n", REDIS_URL="redis://127.0.0.1:6379/7", FLOWER_BASIC_AUTH="ops:s3cret-pass")
    assert result.returncode == 0, result.stderr
    assert "celery -A config flower --address=127.0.0.1" in result.stdout
    assert "s3cret-pass" not in result.stdout  # never on the command line


def test_flower_still_needs_the_broker():
    result = make("flower", FLOWER_BASIC_AUTH="ops:s3cret-pass")
    assert result.returncode != 0 and "REDIS_URL" in result.stderr
