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

# The demo has its own database and published folder (data/demo/), never $(DB).
demo: install
	$(BIN)/codegouv demo --port $(PORT)

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

OUT ?= public
serve: install
	$(BIN)/codegouv serve --out $(OUT) --port $(PORT)

bench: install
	$(BIN)/python bench/crawl_github.py
	$(BIN)/python bench/crawl_gitlab.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
