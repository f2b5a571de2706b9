# The two commands from the README:  `make site`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: setup site serve validate test lint bench chromium axe clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

setup: $(VENV)/.installed

site: setup            ## validate the entries and build the site into site/
	$(BIN)/kb build

serve: setup           ## live preview on http://127.0.0.1:8000
	$(BIN)/kb serve

validate: setup
	$(BIN)/kb validate

chromium:              ## Debian's Chromium for the browser tests (Playwright's own download does not work offline)
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

# axe-core for tests/test_accessibility.py, at the version pinned in package-lock.json.
AXE = node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq nodejs npm >/dev/null; fi; }
	npm ci --no-audit --no-fund
	touch $@

axe: $(AXE)

test: setup chromium axe   ## lint, then every test (unit, site build, browser, accessibility)
	$(BIN)/ruff check kb scripts tests benchmarks
	$(BIN)/ruff format --check kb scripts tests benchmarks
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check kb scripts tests benchmarks
	$(BIN)/ruff format --check kb scripts tests benchmarks

bench: setup           ## benchmarks as ratios (see benchmarks/README.md)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf site .cache build
