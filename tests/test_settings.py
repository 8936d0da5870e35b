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
    """A forgotten SECRET_KEY never turns DEBUG on (tracebacks and settings to a stranger): the
    embedded default (commands, the demo) runs with DEBUG off; with a key and nothing else, DEBUG
    is off; DEBUG=1 turns it on."""
    assert probe({})["debug"] is False
    assert probe({"SECRET_KEY": "k" * 60})["debug"] is False
    assert probe({"DEBUG": "1"})["debug"] is True


def test_commands_run_on_the_embedded_defaults_without_any_setting(tmp_path):
    """The contract's commands run as a user types them, with no environment: DEBUG off, and the
    PDFs they render find their static files without collectstatic."""
    result = run_with({"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}, "manage.py", "migrate", "-v", "0")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "report.pdf"
    result = run_with({"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}, "manage.py", "fund_report",
                      "--year", "2026", "--month", "3", "--format", "pdf", "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(b"%PDF")
    assert result.stderr == ""


def test_tests_run_with_debug_off():
    assert settings.DEBUG is False


def test_make_run_asks_for_debug_with_the_embedded_defaults():
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    for target in ("run", "demo", "migrate", "messages"):
        result = subprocess.run(["make", "-n", "-p", target], env=env, cwd=settings.BASE_DIR,
                                capture_output=True, text=True, timeout=60)
        assert f"{target}: DEBUG = 1" in result.stdout, target
    assert "run: export DEBUG ?= 1" in (settings.BASE_DIR / "Makefile").read_text()


def test_the_web_server_refuses_the_embedded_key_without_debug():
    refused = run_with({"DEBUG": "0"}, "-c", "import config.wsgi")
    assert refused.returncode != 0
    assert "SECRET_KEY" in refused.stderr
    assert run_with({"DEBUG": "1"}, "-c", "import config.wsgi").returncode == 0
    assert run_with({"SECRET_KEY": "k" * 60, "ALLOWED_HOSTS": "a.example"}, "-c",
                    "import config.wsgi").returncode == 0


def test_check_deploy_warns_about_the_embedded_key():
    result = run_with({"DEBUG": "0", "ALLOWED_HOSTS": "ncms.example.gov.cn"}, "manage.py", "check", "--deploy",
                      "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stdout + result.stderr


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


def test_the_brokers_visibility_timeout_and_the_job_heartbeat_come_from_the_environment():
    script = ("import django, json; django.setup(); from django.conf import settings as s; "
              "from config.celery import app; "
              "print(json.dumps({'visibility': app.conf.broker_transport_options['visibility_timeout'],"
              " 'beat': [s.JOB_HEARTBEAT_INTERVAL, s.JOB_HEARTBEAT_TIMEOUT, s.JOB_REDELIVER_MAX],"
              " 'sweep': app.conf.beat_schedule['redeliver interrupted jobs']['schedule']}))")
    defaults = run_with({"DEBUG": "1"}, "-c", script)
    assert defaults.returncode == 0, defaults.stderr
    # a dead worker's task comes back from Redis after 15 minutes; its import job after about two
    assert json.loads(defaults.stdout) == {"visibility": 900, "beat": [15, 60, 3], "sweep": 60.0}

    chosen = run_with({"DEBUG": "1", "CELERY_VISIBILITY_TIMEOUT": "1800", "JOB_HEARTBEAT_INTERVAL": "5",
                       "JOB_HEARTBEAT_TIMEOUT": "30", "JOB_REDELIVER_MAX": "5"}, "-c", script)
    assert json.loads(chosen.stdout)["visibility"] == 1800
    assert json.loads(chosen.stdout)["beat"] == [5, 30, 5]

    # a heartbeat no more frequent than its timeout would make every job look dead
    refused = run_with({"DEBUG": "1", "JOB_HEARTBEAT_INTERVAL": "60", "JOB_HEARTBEAT_TIMEOUT": "60"}, "-c", script)
    assert refused.returncode != 0 and "JOB_HEARTBEAT_INTERVAL" in refused.stderr
