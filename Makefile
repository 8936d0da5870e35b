# The two commands: `make run` (the demo on http://127.0.0.1:8000) and `make test` (every test).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: run test lint system-deps venv migrate demo messages bench clean flower flower-settings

# The embedded demo (no SECRET_KEY) asks for DEBUG: config/settings.py turns it on only when asked.
ifeq ($(SECRET_KEY),)
messages migrate demo run: export DEBUG ?= 1
endif

system-deps:
	@bash scripts/install-system-deps.sh

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements-dev.txt
	touch $(STAMP)

venv: system-deps $(STAMP)

messages: venv
	$(PY) manage.py compilemessages --ignore=.venv -v 0

migrate: venv
	mkdir -p var
	$(PY) manage.py migrate --noinput -v 0

demo: migrate
	$(PY) manage.py seed_demo --if-empty

run: messages demo
	@$(PY) manage.py demo_logins
	$(PY) manage.py runserver 127.0.0.1:8000

# The layers (.importlinter) and pyflakes' checks with import order (ruff.toml), then every test.
lint: venv
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/ruff check .

test: messages lint
	$(PY) -m pytest

# The Celery queue and workers in a browser (Flower, http://127.0.0.1:5555), read from the broker,
# behind basic auth (Flower reads FLOWER_BASIC_AUTH from the environment; never on the command line):
#   REDIS_URL=redis://127.0.0.1:6379/0 FLOWER_BASIC_AUTH=ops:<password> make flower
# (docs/operations.md: queue monitoring). Without either, it refuses to start.
FLOWER_PORT ?= 5555
flower: flower-settings venv
	$(VENV)/bin/celery -A config flower --address=127.0.0.1 --port=$(FLOWER_PORT)

flower-settings:
	@test -n "$$REDIS_URL" || { echo "make flower: set REDIS_URL to the Celery broker" >&2; exit 2; }
	@case "$$FLOWER_BASIC_AUTH" in ?*:?*) ;; *) echo "make flower: set FLOWER_BASIC_AUTH=user:password (Flower has no login of its own)" >&2; exit 2;; esac

bench: venv
	$(PY) bench/import_roster.py

clean:
	rm -rf var/db.sqlite3 var/media
