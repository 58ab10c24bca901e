# Spark Den PMS — the two commands a newcomer needs: `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test bench bench-large bench-dashboards screenshots browser lock clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip==25.3

# Reinstall only when the pins change.
$(STAMP): $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/pms demo

# Debian's chromium drives the dashboards' browser test and the screenshots.
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

test: $(STAMP) browser
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/pytest -n 2 --dist loadgroup -q $(PYTEST_ARGS)

# Each benchmark appends its section (machine, date, figures) to docs/benchmarks.md. Hours, not
# minutes: `large` is seeded into PostgreSQL with history to yesterday, then driven end to end.
bench: $(STAMP) browser
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m benchmarks.seed_bench --scale small
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m benchmarks.seed_bench --scale large --backend sqlite
	$(MAKE) bench-large
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m benchmarks.ml_bench
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m benchmarks.noshow_ceiling --scale small

bench-large: $(STAMP) browser
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m benchmarks.seed_bench --scale large --backend postgres \
		--anchor $$(date -u -d yesterday +%F)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m benchmarks.large_bench

screenshots: $(STAMP) browser
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python scripts/screenshots.py

bench-dashboards: $(STAMP) browser
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m benchmarks.dashboard_bench

lock: $(BIN)/python
	$(BIN)/pip freeze --exclude-editable | sed '1i # Full pinned dependency tree (Python 3.11). Regenerate: make lock' > requirements.lock

clean:
	rm -rf $(VENV) var .pytest_cache
