# One task runner for people and CI. `make demo` and `make test` do all set-up on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format serve bench docs clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/spanscope demo

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

serve: $(STAMP)
	$(BIN)/spanscope serve

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

docs: $(STAMP)
	$(BIN)/python -c "from spanscope.settings import render_markdown; print(render_markdown(), end='')" > docs/settings.md

clean:
	rm -rf $(VENV) .spanscope .pytest_cache .ruff_cache
