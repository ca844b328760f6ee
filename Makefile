# Two entry points for a fresh machine (each makes its own virtual environment):
#   make demo   installs peakend and runs it on the bundled demo data
#   make test   installs peakend with its test tools and runs lint, type checks and tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-deps check lint typecheck unit bench report-images dashboard-image clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev,spark]"
	touch $@ $(VENV)/.installed-run

demo: $(VENV)/.installed-run
	$(BIN)/peakend demo

test: $(VENV)/.installed-dev test-deps lint typecheck unit

# The browser tests need Chromium and the Spark tests Java. As root with apt-get (a container,
# CI) they are installed here; otherwise, or offline, those tests are skipped with a reason
# that names the package (under CI=true a missing one fails instead).
test-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  missing=""; \
	  command -v java >/dev/null 2>&1 || [ -x "$$JAVA_HOME/bin/java" ] || \
	    missing="$$missing openjdk-17-jre-headless"; \
	  command -v chromium >/dev/null 2>&1 || [ -n "$$PEAKEND_CHROMIUM" ] || \
	    missing="$$missing chromium fonts-dejavu-core"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing$$missing for the browser and Spark tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends $$missing) || \
	      echo "could not install$$missing: the tests that need them will be skipped"; \
	  fi; \
	fi

lint:
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck:
	$(BIN)/mypy

# Two workers (pytest-xdist): the suite takes about two thirds of the time on two
# cores. tests/conftest.py keeps the PostgreSQL tests, and each module's Spark tests,
# on one worker.
unit:
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

bench: $(VENV)/.installed-dev
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python bench/engine.py

# Page 1 of the demo report (English and Dutch) as the images the README and docs/report.md show.
report-images: $(VENV)/.installed-run
	$(BIN)/python -m peakend.report.preview docs/images

# The dashboard of `peakend demo --serve` in headless Chromium, as the README and docs/dashboard.md show it.
dashboard-image: $(VENV)/.installed-dev
	$(BIN)/python scripts/dashboard_screenshot.py docs/images

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
