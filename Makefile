# Public-code inventory — every target installs what it needs first (idempotent).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.install.stamp
DB ?= data/inventory.db
PORT ?= 8001

.PHONY: install demo test lint crawl serve bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/codegouv demo --db $(DB) --port $(PORT)

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

crawl: install
	$(BIN)/codegouv crawl --db $(DB)

.PHONY: publish
publish: install
	$(BIN)/codegouv publish --db $(DB)

serve: install
	$(BIN)/codegouv serve --db $(DB) --port $(PORT)

bench: install
	$(BIN)/python bench/crawl_github.py
	$(BIN)/python bench/crawl_gitlab.py

.PHONY: bench-pipeline
bench-pipeline: install
	$(BIN)/python bench/pipeline.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
