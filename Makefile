# Roost — the two commands a newcomer needs are `make serve` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: serve test lint typecheck unit venv test-venv system-deps clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

venv: $(BIN)/activate
	$(BIN)/pip install --quiet -e .

test-venv: $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[test]'

serve: venv
	$(BIN)/roost serve --demo

# Debian tools the end-to-end tests drive (mbsync from isync); installed when missing.
system-deps:
	@command -v mbsync >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq isync >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq isync >/dev/null; fi; }

lint: test-venv
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: test-venv
	$(BIN)/mypy

unit: test-venv
	$(BIN)/pytest -q

test: test-venv system-deps lint typecheck unit

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
