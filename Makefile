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

# Rewrites the table between the two markers in $(MUTATION_REPORT), from the results kept in mutants/.
# Score = (killed + timeout) / (every mutant checked); "no tests" (no fast test runs the function) counts as survived.
mutation-report:
	@test -f $(MUTATION_REPORT) || printf '# Mutation testing\n\n<!-- mutation:begin -->\n<!-- mutation:end -->\n' > $(MUTATION_REPORT)
	@$(BIN)/mutmut results --all true | awk -v order="$(MUTATION_MODULES)" -v date="$$(date -u +%F)" ' \
	  { name = $$1; sub(/:$$/, "", name); split(name, p, "."); m = p[1] "." p[2]; \
	    s = $$0; sub(/^[^:]*: /, "", s); n[m, s]++; total[m]++ } \
	  END { print "Tabulated " date " by `make mutation-report` from the results kept in mutants/ (each module run with " \
	      "`nice -n 19 mutmut run --max-children 2 \"<module>.*\"`; \"not run\": no mutant of it checked yet):"; \
	    print ""; \
	    print "| module | mutants | killed | timeout | survived | no tests | not checked | other | score |"; \
	    print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"; \
	    k = split(order, mods, " "); \
	    for (i = 1; i <= k; i++) { m = mods[i]; \
	      kl = n[m, "killed"] + 0; to = n[m, "timeout"] + 0; sv = n[m, "survived"] + 0; nt = n[m, "no tests"] + 0; \
	      nc = n[m, "not checked"] + 0; ot = total[m] - kl - to - sv - nt - nc; checked = total[m] - nc; \
	      score = checked ? sprintf("%.1f%%", 100 * (kl + to) / checked) : "not run"; \
	      printf "| %s | %d | %d | %d | %d | %d | %d | %d | %s |\n", m, total[m], kl, to, sv, nt, nc, ot, score } }' \
	  > $(MUTATION_REPORT).table
	@awk -v table=$(MUTATION_REPORT).table ' \
	  /<!-- mutation:begin -->/ { print; while ((getline line < table) > 0) print line; skip = 1; next } \
	  /<!-- mutation:end -->/ { skip = 0 } !skip { print }' $(MUTATION_REPORT) > $(MUTATION_REPORT).new
	@mv $(MUTATION_REPORT).new $(MUTATION_REPORT); rm -f $(MUTATION_REPORT).table
	@sed -n '/<!-- mutation:begin -->/,/<!-- mutation:end -->/p' $(MUTATION_REPORT)

clean:
	rm -rf site .cache build
