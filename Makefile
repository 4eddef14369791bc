# Public-code inventory — every target installs what it needs first (idempotent).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.install.stamp
DB ?= data/inventory.db
PORT ?= 8001

.PHONY: install demo test lint crawl serve bench clean site-deps

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/codegouv demo --db $(DB) --port $(PORT)

test: install site-deps
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

crawl: install
	$(BIN)/codegouv crawl --db $(DB)

serve: install
	$(BIN)/codegouv serve --db $(DB) --port $(PORT)

bench: install
	$(BIN)/python bench/crawl_github.py
	$(BIN)/python bench/crawl_gitlab.py

# --- static site: DSFR and axe-core from npm (lock file), Debian's chromium for browser tests ---
NODE_STAMP := node_modules/.install.stamp

site-deps: $(NODE_STAMP)
	test -x /usr/bin/chromium || { apt-get update && apt-get install -y chromium; } \
		|| echo "chromium n'a pas pu être installé : les tests du navigateur seront ignorés"

$(NODE_STAMP): package.json package-lock.json .dsfr.yml
	DSFR_ACCEPT_LICENSE=1 npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
