# The two commands: `make run` (the demo on http://127.0.0.1:8000) and `make test` (every test).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: run test system-deps venv migrate demo messages bench clean

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

test: messages
	$(PY) -m pytest

bench: venv
	$(PY) bench/import_roster.py

clean:
	rm -rf var/db.sqlite3 var/media
