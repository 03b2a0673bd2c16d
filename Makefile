# Watchbook: `make run` serves the demo, `make test` runs the whole suite. Both bootstrap .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench mutation clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/watchbook serve --demo

# The in-process suite keeps a coverage floor on sync/ (just under the measured figure) and runs
# on every core (pytest-xdist; each worker has its own temp dirs and PostgreSQL cluster); the
# browser tests run the server in a subprocess, so they run apart, one at a time, without coverage.
SYNC_COVERAGE_FLOOR := 97

test: $(STAMP)
	$(BIN)/ruff check server sync tests bench
	$(BIN)/mypy
	$(BIN)/pytest -m "not browser" -n auto --cov=sync --cov-report=term:skip-covered \
		--cov-fail-under=$(SYNC_COVERAGE_FLOOR)
	$(BIN)/pytest -m browser

lint: $(STAMP)
	$(BIN)/ruff check server sync tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench

# Mutation testing of the sync core (docs/testing.md): slow, not part of `make test`.
MUTATION_CHILDREN ?= 2
mutation: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,mutation]'
	rm -rf mutants && mkdir -p var
	$(BIN)/mutmut run --max-children $(MUTATION_CHILDREN) > var/mutmut.log 2>&1 || (tail -c 3000 var/mutmut.log; exit 1)
	$(BIN)/python tests/mutation_score.py

clean:
	rm -rf $(VENV) var mutants .pytest_cache .mypy_cache .ruff_cache .coverage
