# Remote Stack: `make dev` to run, `make test` to check. Only Python 3.11+ and make are needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install dev serve migrate test lint format bench clean css

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (found %s)" % sys.version.split()[0])'
	@test -x $(BIN)/python || { echo "==> creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> installing dependencies into $(VENV) (first time takes a minute)"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

dev: install
	$(BIN)/python app.py dev

serve: install
	$(BIN)/python app.py serve

migrate: install
	$(BIN)/python app.py migrate

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python -m bench.run

# Rebuild web/static/app.css after changing templates' classes (needs Node.js; output is committed).
css:
	npm install --no-audit --no-fund --silent
	npm run --silent css

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
