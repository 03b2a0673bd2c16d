# Watchbook: `make run` serves the demo, `make test` runs the whole suite. Both bootstrap .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/watchbook serve --demo

# The in-process suite keeps a coverage floor on sync/ (just under the measured figure); the
# browser tests run the server in a subprocess, so they run apart, without coverage.
SYNC_COVERAGE_FLOOR := 97

test: $(STAMP)
	$(BIN)/ruff check server sync tests bench
	$(BIN)/mypy
	$(BIN)/pytest -m "not browser" --cov=sync --cov-report=term:skip-covered \
		--cov-fail-under=$(SYNC_COVERAGE_FLOOR)
	$(BIN)/pytest -m browser

lint: $(STAMP)
	$(BIN)/ruff check server sync tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .coverage
