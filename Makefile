# Two commands for a newcomer: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-dev
# Where `make demo` puts lake/, reports/ and signoff/ (`make demo DATA=/tmp/try`).
DATA ?= data
# Arguments for pytest (`make test PYTEST_ARGS="tests/test_cli.py -q"`); none runs the whole suite.
PYTEST_ARGS ?=
# Test processes (pytest-xdist; whole files per process): 2 halves the suite's time on a 2-core machine.
TEST_WORKERS ?= 2

.PHONY: demo test test-slow lint bench interop clean

$(PY):
	@$(PYTHON) -m venv $(VENV)

# One line, then a quiet install (pip's output goes to .venv/install.log, shown only if it fails):
# a newcomer knows why the first `make demo` waits.
$(INSTALLED): pyproject.toml | $(PY)
	@echo "installing nxframe and its dependencies into $(VENV), about 30 s, once"
	@$(PY) -m pip install --quiet --upgrade pip >$(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }
	@$(PY) -m pip install --quiet -e '.[dev]' >>$(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }
	@touch $@

demo: $(INSTALLED)
	$(VENV)/bin/nxframe demo --offline --data $(DATA)

test: $(INSTALLED)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-slow: $(INSTALLED)
	$(PY) -m pytest -m slow

lint: $(INSTALLED)
	$(VENV)/bin/ruff check nxframe tests benchmarks
	$(VENV)/bin/ruff format --check nxframe tests benchmarks
	$(VENV)/bin/mypy

bench: $(INSTALLED)
	$(PY) benchmarks/run.py

interop: $(INSTALLED)
	$(PY) -m pip install --quiet -e '.[dev,interop]'
	$(PY) -m pytest -m interop

clean:
	rm -rf $(VENV) data/lake data/reports .pytest_cache .mypy_cache .ruff_cache
