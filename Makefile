# The two commands of the README:
#   make run   - start spruce (the server) on its local store ./spruce-data
#   make test  - install everything the tests need into .venv and run lint, types and the test suite
# Only python3 (>= 3.11, with venv) and make are assumed on the machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   ?= ./spruce-data
HOST   ?= 127.0.0.1
PORT   ?= 5080

.PHONY: run demo test lint typecheck install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/spruce serve --data $(DATA) --host $(HOST) --port $(PORT)

demo: $(STAMP)
	$(BIN)/spruce demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
