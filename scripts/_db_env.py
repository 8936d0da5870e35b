"""Shell exports for a DATABASE_URL, read the way config/settings.py reads it (dj-database-url).

Used by scripts/backup.sh and scripts/restore.sh: `eval "$(python scripts/_db_env.py "$URL")"`.
PostgreSQL: DB_KIND=postgres and the libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD,
PGDATABASE, PGSSLMODE), so that the password never appears on a command line (ps).
SQLite: DB_KIND=sqlite and DB_PATH (absolute).
"""
import shlex
import sys
from pathlib import Path

import dj_database_url

config = dj_database_url.parse(sys.argv[1])
engine = config["ENGINE"]
if engine.endswith("sqlite3"):
    values = {"DB_KIND": "sqlite", "DB_PATH": str(Path(config["NAME"]).resolve())}
elif "postgres" in engine or "postgis" in engine:
    values = {
        "DB_KIND": "postgres", "PGHOST": config.get("HOST") or "", "PGPORT": str(config.get("PORT") or ""),
        "PGUSER": config.get("USER") or "", "PGPASSWORD": config.get("PASSWORD") or "",
        "PGDATABASE": config["NAME"], "PGSSLMODE": (config.get("OPTIONS") or {}).get("sslmode", ""),
    }
else:
    sys.exit(f"unsupported database engine {engine}: only PostgreSQL and SQLite are backed up")
for name, value in values.items():
    if value:
        print(f"export {name}={shlex.quote(value)}")
