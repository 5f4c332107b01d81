# linli — two commands on a fresh machine (Python >= 3.12, Node >= 20, make):
#   make run    set everything up and serve the demo at http://127.0.0.1:8000 (SQLite)
#   make test   set everything up and run the whole suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LINLI := $(BIN)/linli
VAR := var
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
CHROMIUM ?= /usr/bin/chromium

# The demo runs like production, with keys kept in var/ (made once, never committed).
DEMO := LINLI_SECRET_KEY_FILE=$(CURDIR)/$(VAR)/secret_key LINLI_FIELD_KEY_FILE=$(CURDIR)/$(VAR)/field_key $(LINLI)

.PHONY: help
help:
	@echo "make run     set up and serve the demo at http://$(HOST):$(PORT)"
	@echo "make test    set up and run the whole test suite"
	@echo "make bench   run the benchmarks (writes bench/results/*.json)"
	@echo "make lint    ruff, mypy, makemigrations --check"
	@echo "make lock    recompile requirements*.txt from pyproject.toml"

$(BIN)/activate:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 12) and "linli needs Python >= 3.12" or 0)'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/activate requirements-dev.txt pyproject.toml
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

.PHONY: install assets keys
install: $(VENV)/.installed assets

assets: node_modules/.package-lock.json
	node scripts/copy-assets.mjs

keys: $(VAR)/secret_key $(VAR)/field_key
$(VAR)/secret_key: | $(VENV)/.installed
	@mkdir -p $(VAR) && umask 077 && $(LINLI) genkey secret > $@
$(VAR)/field_key: | $(VENV)/.installed
	@mkdir -p $(VAR) && umask 077 && $(LINLI) genkey field > $@

.PHONY: demo-db
demo-db: install keys
	$(DEMO) migrate --noinput
	$(DEMO) createcachetable
	$(DEMO) collectstatic --noinput --verbosity 0
	@if [ ! -f $(VAR)/.demo-built ]; then $(DEMO) demo && touch $(VAR)/.demo-built; fi

.PHONY: run
run: demo-db
	$(DEMO) demo --print-signins
	@echo "linli: serving http://$(HOST):$(PORT) with $(WORKERS) workers and a task worker (Ctrl+C stops both)"
	@trap 'kill 0' EXIT INT TERM; \
	$(DEMO) worker --no-startup-delay & \
	LINLI_SECRET_KEY_FILE=$(CURDIR)/$(VAR)/secret_key LINLI_FIELD_KEY_FILE=$(CURDIR)/$(VAR)/field_key \
	$(BIN)/granian --interface wsgi --host $(HOST) --port $(PORT) --workers $(WORKERS) --blocking-threads 4 linli.wsgi:application

.PHONY: test
test: install
	$(BIN)/playwright --version >/dev/null
	@./scripts/install-test-tools.sh
	$(BIN)/pytest $(PYTEST_ARGS)

.PHONY: lint
lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src
	DJANGO_SETTINGS_MODULE=tests.settings PYTHONPATH=. $(BIN)/python -m django makemigrations --check --dry-run

.PHONY: bench
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

.PHONY: lock
lock:
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links --allow-unsafe -o requirements.txt pyproject.toml
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links --allow-unsafe --extra dev -o requirements-dev.txt pyproject.toml

.PHONY: messages
messages: install
	cd src/linli && DJANGO_SETTINGS_MODULE=tests.settings PYTHONPATH=../.. ../../$(BIN)/python -m django makemessages -l en -l zh_Hans --no-obsolete
	@echo "Now fill every new msgstr in src/linli/locale/en/LC_MESSAGES/django.po, then: make compile-messages"

.PHONY: compile-messages
compile-messages: install
	cd src/linli && DJANGO_SETTINGS_MODULE=tests.settings PYTHONPATH=../.. ../../$(BIN)/python -m django compilemessages -l en -l zh_Hans

.PHONY: clean
clean:
	rm -rf $(VENV) node_modules $(VAR) src/linli/web/static/vendor
