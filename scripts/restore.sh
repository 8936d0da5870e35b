#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into a FRESH database, then prove it is whole.
#
#   scripts/restore.sh [--migrate] [--skip-media] BACKUP_DIR
#
# Environment (the installation being restored INTO, as the application reads it):
#   DATABASE_URL  the target database. PostgreSQL: created if missing; refused if it already has
#                 tables. SQLite (or unset: var/db.sqlite3): refused if the file exists.
#   MEDIA_ROOT    where the uploads go (default var/media); refused if it is not empty.
# Steps: verify the checksums; create the database; pg_restore (one transaction, stop at the first
# error) or copy the SQLite file; unpack the media; `manage.py migrate --check` (a backup older
# than this code stops here; --migrate applies the newer migrations instead); then
# `manage.py reconcile --year Y` for every scheme year in the data (the fund's ledger against
# contributions, paid claims and balances; reconcile exits non-zero on any difference).
# Exit status: 0 when the restore is complete and every year reconciles; non-zero otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
PY=${PYTHON:-$root/.venv/bin/python}
[ -x "$PY" ] || PY=python3

migrate=0
skip_media=0
while [ $# -gt 0 ]; do
  case "$1" in
    --migrate) migrate=1; shift ;;
    --skip-media) skip_media=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "restore: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || { echo "usage: scripts/restore.sh [--migrate] [--skip-media] BACKUP_DIR" >&2; exit 2; }
backup=$(cd "$1" && pwd)

say() { echo "restore: $*" >&2; }
fail() { say "$*"; exit 1; }

[ -f "$backup/SHA256SUMS" ] || fail "$backup has no SHA256SUMS: not a backup directory"
(cd "$backup" && sha256sum --check --quiet SHA256SUMS) || fail "checksums do not match: the backup is damaged"
say "checksums ok"

url=${DATABASE_URL:-sqlite:///$root/var/db.sqlite3}
media=${MEDIA_ROOT:-$root/var/media}
eval "$("$PY" scripts/_db_env.py "$url")"

case "$DB_KIND" in
  postgres)
    [ -f "$backup/database.dump" ] || fail "the backup holds no PostgreSQL dump (database.dump)"
    exists=$(PGDATABASE=postgres psql -X -At -v ON_ERROR_STOP=1 -v name="$PGDATABASE" \
      <<<"SELECT count(*) FROM pg_database WHERE datname = :'name';")
    if [ "$exists" = "0" ]; then
      createdb --maintenance-db=postgres "$PGDATABASE"
      say "database $PGDATABASE created"
    else
      tables=$(psql -X -At -v ON_ERROR_STOP=1 \
        -c "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
      [ "$tables" = "0" ] || fail "database $PGDATABASE already has $tables tables: restore only into a fresh database"
    fi
    pg_restore --no-owner --no-privileges --exit-on-error --single-transaction \
      --dbname "$PGDATABASE" "$backup/database.dump"
    psql -X -q -v ON_ERROR_STOP=1 -c "ANALYZE"  # fresh statistics for the planner
    say "database restored into $PGDATABASE"
    ;;
  sqlite)
    [ -f "$backup/database.sqlite3" ] || fail "the backup holds no SQLite database (database.sqlite3)"
    [ -e "$DB_PATH" ] && fail "$DB_PATH exists: restore only into a fresh database"
    mkdir -p "$(dirname "$DB_PATH")"
    cp "$backup/database.sqlite3" "$DB_PATH"
    say "database restored into $DB_PATH"
    ;;
esac

if [ $skip_media -eq 0 ]; then
  if [ -d "$media" ] && [ -n "$(ls -A "$media")" ]; then
    fail "MEDIA_ROOT $media is not empty: restore the uploads only into an empty directory (or --skip-media)"
  fi
  mkdir -p "$media"
  tar -C "$media" -xzf "$backup/media.tar.gz"
  say "media restored into $media"
fi

export DATABASE_URL="$url"
if ! "$PY" manage.py migrate --check --noinput >/dev/null; then
  if [ $migrate -eq 1 ]; then
    "$PY" manage.py migrate --noinput
    say "migrations newer than the backup applied"
  else
    fail "the backup predates this code's migrations: run again with --migrate (into a fresh database) or restore with the matching code"
  fi
fi
say "migrations match the code"

years=$("$PY" - <<'PYEOF'
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from enrollment.models import Enrollment
from ledger.models import LedgerTransaction
years = set(LedgerTransaction.objects.values_list("year", flat=True).distinct())
years |= set(Enrollment.objects.values_list("year", flat=True).distinct())
print(" ".join(str(year) for year in sorted(years)))
PYEOF
)
status=0
for year in $years; do
  if "$PY" manage.py reconcile --year "$year"; then :; else status=1; fi
done
[ -n "$years" ] || say "no scheme year in the data: nothing to reconcile"
[ $status -eq 0 ] || fail "reconciliation found differences (listed above)"
say "restore complete: $backup -> ${PGDATABASE:-$DB_PATH}"
