# The two commands from the README:  `make site`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: setup site serve validate test lint bench chromium axe clean mutation mutation-report

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

# Mutation testing (slow, so not part of `make test`): mutmut (config in pyproject.toml, [tool.mutmut]) over the modules
# below, one module at a time, two workers (MUTATION_JOBS), at the lowest CPU priority. Each mutant runs only the fast
# tests that executed the mutated function; mutants/ keeps the results (a module named here is re-run in full: mutmut re-checks every
# mutant named on its command line; `.venv/bin/mutmut run` with no names checks only what has no result yet).
# `make mutation MUTATION_MODULES=kb.references` runs one module. The score table goes to benchmarks/MUTATION.md.
MUTATION_MODULES ?= kb.references kb.doi kb.validate kb.render kb.build
MUTATION_REPORT   = benchmarks/MUTATION.md
MUTATION_JOBS    ?= 2

mutation: setup
	@for m in $(MUTATION_MODULES); do \
	  echo "== mutmut run $$m.*"; \
	  nice -n 19 $(BIN)/mutmut run --max-children $(MUTATION_JOBS) "$$m.*" || exit 1; \
	done
	@$(MAKE) --no-print-directory mutation-report

# Rewrites the table between the two markers in $(MUTATION_REPORT) from the results kept in mutants/, and lists every
# survivor that is neither killed nor in benchmarks/mutation-equivalents.txt (each listed mutant is under its reason).
# Score = (killed + timeout) / (every mutant checked); "no tests" (no fast test runs the function) counts as survived.
mutation-report: setup
	$(BIN)/python scripts/mutation_report.py --report $(MUTATION_REPORT) --modules "$(MUTATION_MODULES)"

clean:
	rm -rf site .cache build
