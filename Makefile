# Voronka CRM. `make run` serves the app with demo data; `make test` runs the test suite.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
export FLASK_APP := app:create_app

.PHONY: run test install install-dev migrate generate bench screenshots translations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

## Apply migrations, create the administrator and (first run) the demo company, then serve
## with CRM_WORKERS gunicorn processes (run.py).
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask crm init
	$(BIN)/python run.py

## Install the test dependencies and run the whole suite (SQLite; PostgreSQL with TEST_DATABASE_URL).
test: install-dev
	$(BIN)/python -m pytest

migrate: install
	$(BIN)/flask db upgrade

## Fill the database with generated data: make generate CLIENTS=1000000
CLIENTS ?= 100000
generate: install
	$(BIN)/flask db upgrade
	$(BIN)/flask crm generate --clients $(CLIENTS)

## Pages users open, stock FAB vs Voronka, then 16 busy users against 1 and 2 workers
## (bench/README.md; BENCH_DB names a database kept for benchmarks).
BENCH_DB ?= sqlite:///$(CURDIR)/bench/results/sqlite-1m.db
bench: install
	$(BIN)/python bench/bench_lists.py --database-url $(BENCH_DB)
	$(BIN)/python bench/bench_concurrency.py --database-url $(BENCH_DB)

screenshots: install-dev
	$(BIN)/python scripts/screenshots.py --out screenshots

## Re-extract user-facing strings and update the Russian and English catalogues.
translations: install-dev
	sh app/translations/update.sh

clean:
	rm -rf $(VENV) .pytest_cache
