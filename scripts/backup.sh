#!/usr/bin/env bash
# Backup of one NCMS installation: the database and the uploads, in one timestamped directory.
#
#   scripts/backup.sh [DEST]          DEST: $BACKUP_DIR, else var/backups
#
# Reads the same environment as the application:
#   DATABASE_URL  PostgreSQL: `pg_dump --format=custom` (a consistent snapshot, taken while the
#                 system runs; restore with scripts/restore.sh or pg_restore);
#                 unset/SQLite: a consistent copy of the SQLite file (sqlite3 backup API)
#   MEDIA_ROOT    uploads (claim scans, roster files, inspection documents): a .tar.gz
#                 (default var/media)
# Writes DEST/ncms-<UTC timestamp>/ with database.dump (or database.sqlite3), media.tar.gz,
# MANIFEST (what, when, which code) and SHA256SUMS; prints that directory on its last line.
# The password is passed to pg_dump through PGPASSWORD, never on the command line.
# Exit status: 0 when everything was written, non-zero otherwise (a partial directory is removed).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
PY=${PYTHON:-$root/.venv/bin/python}
[ -x "$PY" ] || PY=python3

dest=${1:-${BACKUP_DIR:-var/backups}}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$dest/ncms-$stamp"
if [ -e "$out" ]; then
  echo "backup: $out already exists (one backup per second at most)" >&2
  exit 1
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
trap 'status=$?; if [ $status -ne 0 ]; then rm -rf "$out"; echo "backup: FAILED, nothing kept" >&2; fi' EXIT

url=${DATABASE_URL:-sqlite:///$root/var/db.sqlite3}
media=${MEDIA_ROOT:-$root/var/media}
eval "$("$PY" scripts/_db_env.py "$url")"

case "$DB_KIND" in
  postgres)
    pg_dump --format=custom --compress=6 --file "$out/database.dump"
    database_file=database.dump
    database_desc="postgresql ${PGHOST:-local}:${PGPORT:-5432}/$PGDATABASE (pg_dump $(pg_dump --version | awk '{print $NF}'))"
    ;;
  sqlite)
    [ -f "$DB_PATH" ] || { echo "backup: no SQLite database at $DB_PATH" >&2; exit 1; }
    "$PY" - "$DB_PATH" "$out/database.sqlite3" <<'PYEOF'
import sqlite3, sys
source = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
target = sqlite3.connect(sys.argv[2])
source.backup(target)  # consistent even while the application writes
target.close()
source.close()
PYEOF
    database_file=database.sqlite3
    database_desc="sqlite $DB_PATH"
    ;;
esac

if [ -d "$media" ]; then
  tar -C "$media" -czf "$out/media.tar.gz" .
else
  echo "backup: no MEDIA_ROOT at $media; the media archive is empty" >&2
  tar -czf "$out/media.tar.gz" -T /dev/null
fi

{
  echo "created: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "database: $database_desc"
  echo "media: $media"
  echo "code: $(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "latest migrations:"
  "$PY" - <<'PYEOF' || true
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.db.migrations.recorder import MigrationRecorder
latest = {}
for app, name in MigrationRecorder.Migration.objects.values_list("app", "name"):
    latest[app] = max(latest.get(app, name), name)
for app in sorted(latest):
    print(f"  {app} {latest[app]}")
PYEOF
} > "$out/MANIFEST"

(cd "$out" && sha256sum "$database_file" media.tar.gz > SHA256SUMS)
echo "backup: $(du -sh "$out" | cut -f1) written" >&2
echo "$out"
