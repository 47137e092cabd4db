# The two commands a newcomer needs: `make run` (install + demo screen) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install lint bench

$(BIN)/viglas: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/viglas

install: $(BIN)/viglas

run: install
	$(BIN)/viglas run runs/viglas.toml
	$(BIN)/viglas query viglas --top 10

lint: install
	$(BIN)/ruff check .

test: install lint
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python bench/bench_pipeline.py
