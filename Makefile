# Remote Stack: `make dev` to run, `make test` to check. Only Python 3.11+ and make are needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
HOST ?= 127.0.0.1
PORT ?= 8000
# uv installs the exact versions in uv.lock; a uv on PATH is used, else this version goes into .venv.
UV_VERSION := 0.13.9
UV = $(shell command -v uv 2>/dev/null || echo $(BIN)/uv)

.PHONY: install bytecode lock dev serve migrate test test-template lint format bench clean css

$(STAMP): pyproject.toml uv.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (found %s)" % sys.version.split()[0])'
	@test -x $(BIN)/python || { echo "==> creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@command -v uv >/dev/null 2>&1 || test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@echo "==> installing the locked dependencies (uv.lock) into $(VENV)"
	@# --inexact keeps pip and uv themselves; --locked fails when uv.lock is out of date: run make lock.
	@# --compile-bytecode: with PYTHONDONTWRITEBYTECODE set (CI, containers) Python never caches
	@# bytecode itself, and every process would compile its imports again (~1 s per server start).
	@UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --inexact --extra dev --python $(BIN)/python --quiet --compile-bytecode
	@touch $(STAMP)

install: $(STAMP)

# The project's own modules compiled ahead, for the same reason; only files changed since run again.
# A module that does not compile is left to the command that imports it to report.
bytecode: install
	@$(BIN)/python -m compileall -q -j0 $(wildcard *.py) $(filter-out node_modules/,$(wildcard */)) >/dev/null || true

# After changing dependencies in pyproject.toml: re-resolve uv.lock (commit it), then `make install`.
lock:
	@command -v uv >/dev/null 2>&1 || test -x $(BIN)/uv || { test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); $(BIN)/python -m pip install --quiet uv==$(UV_VERSION); }
	$(UV) lock

dev: bytecode
	$(BIN)/python app.py dev --host $(HOST) --port $(PORT)

serve: bytecode
	$(BIN)/python app.py serve --host $(HOST) --port $(PORT)

migrate: install
	$(BIN)/python app.py migrate

# pytest-xdist workers: one more than the cores, as a third of a worker's time is spent waiting on the
# servers, browsers and processes its tests start (on 2 cores: 4:28 against 4:58 with one per core).
# Each test file runs on one worker: its module-scoped servers start once.
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print((os.cpu_count() or 1) + 1)')
test: bytecode
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Projects generated from this template (renamed without the demo; the defaults) pass their own whole
# suites; each takes as long as `make test`, so CI runs this beside it.
test-template: bytecode
	TEST_GENERATED_SUITES=1 $(BIN)/python -m pytest -v $(PYTEST_ARGS) tests/test_template_suites.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: bytecode
	$(BIN)/python -m bench.run

# Rebuild web/static/app.css after changing templates' classes (needs Node.js; output is committed).
css:
	npm install --no-audit --no-fund --silent
	npm run --silent css

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
