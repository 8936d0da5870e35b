"""Settings come from the environment; production settings pass `check --deploy` cleanly."""
import json
import os
import subprocess
import sys

from django.conf import settings

PROBE = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], 'name': str(s.DATABASES['default']['NAME']),"
    " 'cache': s.CACHES['default']['BACKEND'], 'eager': s.CELERY_TASK_ALWAYS_EAGER,"
    " 'broker': s.CELERY_BROKER_URL, 'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS}))"
)


def run_with(env_overrides, *args):
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS",
                         "DJANGO_ALLOW_ASYNC_UNSAFE"}}  # set by the browser fixture, never in production
    env.update(env_overrides, DJANGO_SETTINGS_MODULE="config.settings")
    return subprocess.run([sys.executable, *args], env=env, cwd=settings.BASE_DIR,
                          capture_output=True, text=True, timeout=120)


def probe(env_overrides):
    result = run_with(env_overrides, "-c", PROBE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_embedded_defaults_are_sqlite_eager_and_memory_cache():
    found = probe({"DEBUG": "1"})  # `make run` asks for DEBUG (Makefile)
    assert found["engine"] == "django.db.backends.sqlite3"
    assert found["name"].endswith("var/db.sqlite3")
    assert found["cache"].endswith("LocMemCache")
    assert found["eager"] is True
    assert found["debug"] is True


def test_production_environment_selects_postgresql_and_redis():
    found = probe({"DATABASE_URL": "postgres://u@db:5432/ncms", "REDIS_URL": "redis://r:6379/1",
                   "SECRET_KEY": "k" * 60, "ALLOWED_HOSTS": "a.example,b.example"})
    assert found["engine"] == "django.db.backends.postgresql"
    assert found["name"] == "ncms"
    assert found["cache"].endswith("RedisCache")
    assert found["eager"] is False
    assert found["broker"] == "redis://r:6379/1"
    assert found["debug"] is False
    assert found["hosts"] == ["a.example", "b.example"]


def test_check_deploy_prints_no_warning_with_production_settings():
    result = run_with({"SECRET_KEY": "production-" + "q7Z!p" * 12, "ALLOWED_HOSTS": "ncms.example.gov.cn",
                       "DEBUG": "0"}, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_is_on_only_when_asked():
    """A forgotten SECRET_KEY never turns DEBUG on (tracebacks and settings to a stranger): without
    DEBUG=1 the settings refuse to start instead; with a key and nothing else, DEBUG is off."""
    refused = run_with({}, "-c", PROBE)
    assert refused.returncode != 0
    assert "SECRET_KEY" in refused.stderr
    assert probe({"SECRET_KEY": "k" * 60})["debug"] is False
    assert probe({"DEBUG": "1"})["debug"] is True


def test_tests_run_with_debug_off():
    assert settings.DEBUG is False


def test_make_run_asks_for_debug_with_the_embedded_defaults():
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    for target in ("run", "demo", "migrate", "messages"):
        result = subprocess.run(["make", "-n", "-p", target], env=env, cwd=settings.BASE_DIR,
                                capture_output=True, text=True, timeout=60)
        assert f"{target}: DEBUG = 1" in result.stdout, target
    assert "run: export DEBUG ?= 1" in (settings.BASE_DIR / "Makefile").read_text()


def test_debug_off_without_secret_key_refuses_to_start():
    result = run_with({"DEBUG": "0"}, "-c", PROBE)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_passwords_are_hashed_with_argon2_outside_tests():
    from config import settings as project_settings

    assert project_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_the_claim_total_cost_ceiling_comes_from_the_environment():
    script = "import django; django.setup(); from django.conf import settings as s; print(repr(s.CLAIM_TOTAL_COST_MAX))"
    assert run_with({"DEBUG": "1"}, "-c", script).stdout.strip() == "Decimal('5000000.00')"
    assert run_with({"DEBUG": "1", "CLAIM_TOTAL_COST_MAX": "800000.00"}, "-c", script).stdout.strip() == "Decimal('800000.00')"
    for wrong in ("abc", "0", "-1", "1E+16", "Infinity"):
        refused = run_with({"DEBUG": "1", "CLAIM_TOTAL_COST_MAX": wrong}, "-c", script)
        assert refused.returncode != 0 and "CLAIM_TOTAL_COST_MAX" in refused.stderr, wrong
