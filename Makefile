# Quick start: `make demo` and `make test`. Both create .venv with python3 -m venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test quick lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/expansion run scenarios/demo.toml --overwrite

test: $(STAMP)
	$(BIN)/ruff check expansion tests benchmarks
	$(BIN)/pytest -q

quick: $(STAMP)  # while you work: the tests that do not run the whole pipeline
	$(BIN)/pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check expansion tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --sizes 500 1000 2000

clean:
	rm -rf $(VENV) outputs .pytest_cache .ruff_cache
