"""The backup and restore drill, end to end: a small county with paid claims in the ledger is
backed up with scripts/backup.sh, restored with scripts/restore.sh into a fresh database, and the
restored database holds the same rows and reconciles.

Runs the scripts as an operator would (subprocesses, own databases), on PostgreSQL (always: the
server at 127.0.0.1:5432 is there in both CI passes; databases ncms_backup_*, dropped afterwards)
and on the embedded SQLite file."""
import json
import os
import shutil
import subprocess
import sys
import uuid

import dj_database_url
import pytest
from django.conf import settings

ROOT = settings.BASE_DIR
COUNTS = """
import json, os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.apps import apps
print(json.dumps({model._meta.label: model._default_manager.count() for model in apps.get_models()}))
"""


def pg_base() -> str:
    """postgres://user@host:port of the server the tests use (the CI pass's, else the local one)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.postgresql":
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return os.environ.get("OPS_TEST_PG", "postgres://postgres@127.0.0.1:5432")


def pg_env(url: str) -> dict:
    config = dj_database_url.parse(url)
    return {**os.environ, "PGHOST": config["HOST"] or "127.0.0.1", "PGPORT": str(config["PORT"] or 5432),
            "PGUSER": config["USER"] or "", "PGPASSWORD": config.get("PASSWORD") or ""}


def run(args, env, *, check=True, timeout=600):
    result = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, f"{args}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def app_env(database_url: str, media_root) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "MEDIA_ROOT", "DJANGO_SETTINGS_MODULE",
                        "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(DATABASE_URL=database_url, MEDIA_ROOT=str(media_root), PYTHON=sys.executable,
               LOG_LEVEL="WARNING")
    return env


def counts(env) -> dict:
    return json.loads(run([sys.executable, "-c", COUNTS], env).stdout.strip().splitlines()[-1])


@pytest.fixture(params=["postgres", "sqlite"])
def databases(request, tmp_path):
    """(source URL, target URL) of two scratch databases; PostgreSQL ones are dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'source.sqlite3'}", f"sqlite:///{tmp_path / 'restored' / 'db.sqlite3'}"
        return
    base = pg_base()
    if shutil.which("pg_dump") is None or run(["pg_isready", "-q"], pg_env(base), check=False).returncode:
        pytest.fail("the backup drill needs the PostgreSQL client and server (.ci/run starts the server)")
    suffix = uuid.uuid4().hex[:8]
    names = [f"ncms_backup_src_{suffix}", f"ncms_backup_dst_{suffix}"]
    run(["createdb", names[0]], pg_env(base))
    try:
        yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    finally:
        for name in names:
            run(["dropdb", "--if-exists", "--force", name], pg_env(base), check=False)


def test_backup_then_restore_into_a_fresh_database_gives_the_same_county_and_it_reconciles(databases, tmp_path):
    source_url, target_url = databases
    source = app_env(source_url, tmp_path / "media-source")
    target = app_env(target_url, tmp_path / "media-restored")
    # given a small county: members, enrollments with contributions booked, claims in every
    # state, some paid through the services (so the ledger has payouts), notices; and an upload
    run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], source)
    run([sys.executable, "manage.py", "seed_demo", "--members", "300", "--claims", "30", "--seed", "11",
         "--year", "2026"], source)
    scan = tmp_path / "media-source" / "scans" / "2026" / "03" / "invoice.pdf"
    scan.parent.mkdir(parents=True)
    scan.write_bytes(b"%PDF-1.4 scan")
    before = counts(source)
    assert before["ledger.LedgerLine"] > 0 and before["claims.Claim"] == 30

    # when it is backed up and restored into a fresh database and an empty media root
    backup = run(["bash", "scripts/backup.sh", str(tmp_path / "backups")], source)
    backup_dir = backup.stdout.strip().splitlines()[-1]
    assert sorted(os.listdir(backup_dir)) == sorted(
        ["MANIFEST", "SHA256SUMS", "media.tar.gz",
         "database.dump" if source_url.startswith("postgres") else "database.sqlite3"])
    restore = run(["bash", "scripts/restore.sh", backup_dir], target)

    # then every table holds the same number of rows, the upload is back, and the fund reconciles
    assert counts(target) == before
    assert (tmp_path / "media-restored" / "scans" / "2026" / "03" / "invoice.pdf").read_bytes() == b"%PDF-1.4 scan"
    assert "2026 年度对账无差异" in restore.stdout  # `manage.py reconcile --year 2026` on the restored database

    # and a second restore into the now-used database is refused, changing nothing
    again = run(["bash", "scripts/restore.sh", "--skip-media", backup_dir], target, check=False)
    assert again.returncode != 0
    assert "fresh database" in again.stderr
    assert counts(target) == before


def test_a_damaged_backup_is_refused_before_anything_is_written(tmp_path):
    backup_dir = tmp_path / "ncms-broken"
    backup_dir.mkdir()
    (backup_dir / "database.sqlite3").write_bytes(b"not what was backed up")
    (backup_dir / "media.tar.gz").write_bytes(b"")
    (backup_dir / "SHA256SUMS").write_text(
        "0" * 64 + "  database.sqlite3\n" + "0" * 64 + "  media.tar.gz\n")
    target_db = tmp_path / "restored.sqlite3"
    env = app_env(f"sqlite:///{target_db}", tmp_path / "media")

    result = run(["bash", "scripts/restore.sh", str(backup_dir)], env, check=False)

    assert result.returncode != 0
    assert "damaged" in result.stderr
    assert not target_db.exists() and not (tmp_path / "media").exists()
