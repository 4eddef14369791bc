# Public-code inventory — every target installs what it needs first (idempotent).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.install.stamp
DB ?= data/inventory.db
PORT ?= 8001

.PHONY: install demo test test-all lint crawl serve bench clean site-deps node-deps

install: $(STAMP)

# uv installs the same pinned set as pip in a few seconds instead of half a minute (7 s against
# 27 s on a fresh clone of this 2-core machine); pip does it when uv cannot be had. Compiled to
# bytecode as pip does: where PYTHONDONTWRITEBYTECODE is set, nothing else would, and every
# process (each test's `codegouv`) would compile its imports again (2.0 s against 0.7 s).
UV_VERSION := 0.13.9

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	{ $(BIN)/python -m pip install --quiet uv==$(UV_VERSION) \
		&& $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -c constraints.txt -e '.[dev]'; } \
		|| $(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The demo has its own database and published folder (data/demo/), never $(DB).
demo:
	@$(MAKE) --no-print-directory -j2 -O install node-deps
	$(BIN)/codegouv demo --port $(PORT)

# Tests run in parallel (pytest-xdist): one worker per core and one more (many tests wait on a
# server or a child process: 247 s against 274 s with -n 2 on this 2-core machine), at most 4.
TEST_JOBS ?= $(shell n=$$(( $$(nproc 2>/dev/null || echo 2) + 1 )); [ $$n -gt 4 ] && n=4; echo $$n)
# Bytecode is written during the tests even where PYTHONDONTWRITEBYTECODE is set: the tests
# start `codegouv` dozens of times, and each would compile the project's modules again.
PYTEST_PARALLEL := PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n $(TEST_JOBS) --dist worksteal

# The Python and the npm installs run side by side (13 s against 20 s on a fresh clone).
test:
	@$(MAKE) --no-print-directory -j2 -O install site-deps
	$(PYTEST_PARALLEL)

# Everything, the slow tests too (the ten random kill trials).
test-all:
	@$(MAKE) --no-print-directory -j2 -O install site-deps
	$(PYTEST_PARALLEL) -m ""

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

crawl: install
	$(BIN)/codegouv crawl --db $(DB)

.PHONY: publish
publish: install node-deps
	$(BIN)/codegouv publish --db $(DB)

OUT ?= public
serve: install
	$(BIN)/codegouv serve --out $(OUT) --port $(PORT)

bench: install
	$(BIN)/python -m pytest -q -m slow
	$(BIN)/python bench/crawl_github.py
	$(BIN)/python bench/crawl_gitlab.py

.PHONY: bench-pipeline
bench-pipeline: install node-deps
	$(BIN)/python bench/pipeline.py

# --- static site: DSFR and axe-core from npm (lock file), Debian's chromium for browser tests ---
NODE_STAMP := node_modules/.install.stamp

node-deps: $(NODE_STAMP)

site-deps: node-deps
	test -x /usr/bin/chromium || { apt-get update && apt-get install -y chromium; } \
		|| echo "chromium n'a pas pu être installé : les tests du navigateur seront ignorés"

$(NODE_STAMP): package.json package-lock.json .dsfr.yml
	DSFR_ACCEPT_LICENSE=1 npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
