# One command surface. `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell $(PYTHON) -c "import hashlib,sys;print(hashlib.sha1(open('pyproject.toml','rb').read()).hexdigest()[:12])")

.DEFAULT_GOAL := help
.PHONY: help setup browser vendor run test test-fast lint format bench db-upgrade db-revision db-check

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test,dev]"
	rm -f $(VENV)/.installed-*
	touch $@

setup: $(STAMP) browser ## Create the virtualenv and install issuegraph with test and dev tools

browser: ## Install Debian's chromium and chromium-driver (browser tests) when they are missing
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends chromium chromium-driver; \
	fi

run: $(STAMP) ## Set up and run the server on SQLite (http://127.0.0.1:8080)
	$(BIN)/issuegraph serve

# The suite runs on TEST_WORKERS processes (pytest-xdist; each has its own databases), except
# the reliability tests, which kill servers or restart PostgreSQL: they run after the rest, one
# at a time, so that no fault of theirs lands in another test. `--dist loadscope` keeps each
# module's tests in one process, in order: module-scoped servers and the browser flows, which
# build on each other, are set up once and never split between processes.
TEST_WORKERS ?= 2

test: $(STAMP) browser ## Set up, lint (ruff, mypy) and run the whole test suite (SQLite and PostgreSQL)
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadscope -m "not reliability"
	$(BIN)/pytest -m reliability

test-fast: $(STAMP) ## Lint and the tests that start no server and cause no fault (CI runs them all)
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadscope -m "not slow and not reliability"

lint: $(STAMP) ## ruff (lint + format check) and mypy
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: $(STAMP) ## Format the code
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

vendor: ## Refresh the vendored browser assets from npm (scripts/vendor.sh)
	bash scripts/vendor.sh

bench: $(STAMP) ## Run the benchmarks (prints figures)
	$(BIN)/python bench/links.py
	$(BIN)/python bench/graph.py
	$(BIN)/python bench/web.py
	$(BIN)/python bench/webhooks.py

db-upgrade: $(STAMP) ## Apply migrations to ISSUEGRAPH_DATABASE_URL
	$(BIN)/issuegraph db upgrade

db-check: $(STAMP) ## Fail if models and migrations disagree
	$(BIN)/issuegraph db check

db-revision: $(STAMP) ## Autogenerate a migration: make db-revision m="message"
	$(BIN)/issuegraph db revision -m "$(m)"
