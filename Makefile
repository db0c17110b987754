# Every target creates .venv when it is missing, so `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test demo lint bench screenshot clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,lint,postgres,dbt,semantic,dashboard,dagster]"
	# Bundle Vega's scripts for the dashboard once, now, rather than in its first run.
	$(BIN)/python -c "from pipelines.dashboard import javascript_bundle; javascript_bundle()"
	# Parse the dbt package once per version, now, rather than in the first build of the views.
	$(BIN)/python -m transforms.warm
	# Prepare the package's manifest for Dagster the dagster-dbt way (its preparer runs `dbt`).
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dagster-dbt project prepare-and-package --file pipelines/orchestration/project.py
	touch $(STAMP)

# Test files run in parallel, one file per worker at a time (module fixtures stay in one worker).
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check sources pipelines transforms tests scripts
	$(BIN)/ruff format --check sources pipelines transforms tests scripts
	$(BIN)/mypy

demo: $(STAMP)
	$(BIN)/livechat-reports demo

bench: $(STAMP)
	$(BIN)/python scripts/bench.py
	$(BIN)/python scripts/bench_dashboard.py

# The README's picture of the demo's dashboard (needs the OS package `chromium`).
screenshot: $(STAMP)
	$(BIN)/python scripts/dashboard_screenshot.py docs/dashboard.png

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
