# Budget Guard developer tasks. Needs only python3 (+ the gcloud emulators and java for the
# integration tests); everything else is installed into .venv / .venv-checkov on first use.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION ?= 3.3.30
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
PYTEST_ARGS ?=
# -qq: errors only (the machine-wide pip config points at local indexes that warn per package)
PIP_QUIET := -qq --progress-bar off --disable-pip-version-check

.DEFAULT_GOAL := help
.PHONY: help venv test demo simulate lint format bench clean distclean

help:
	@echo "make venv      create/refresh .venv (requirements-dev.txt) and .venv-checkov"
	@echo "make test      run pytest (PYTEST_ARGS='-k harness -x' to pass options)"
	@echo "make demo      run the local end-to-end demo (python -m local.demo)"
	@echo "make simulate  every leak scenario under every configuration: table + docs/simulation/*.png"
	@echo "make lint      ruff check + mypy"
	@echo "make format    ruff format + ruff check --fix"
	@echo "make bench     run the benchmarks (python -m bench)"
	@echo "make clean     remove caches; make distclean also removes the venvs"

venv: $(STAMP) $(CHECKOV_STAMP)

# Reinstall when a requirements file is newer than the stamp.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@echo "==> $(VENV): installing requirements-dev.txt"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install $(PIP_QUIET) -r requirements-dev.txt
	@$(PY) -m pip install $(PIP_QUIET) --no-deps -e .
	@touch $@

# checkov pins its own `packaging` and friends, which clash with pytest's: keep it apart.
$(CHECKOV_STAMP):
	@echo "==> $(CHECKOV_VENV): installing checkov $(CHECKOV_VERSION)"
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/python -m pip install $(PIP_QUIET) checkov==$(CHECKOV_VERSION)
	@rm -f $(CHECKOV_VENV)/.installed-*
	@touch $@

test: venv
	@echo "==> pytest"
	@$(PY) -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	@$(PY) -m local.demo

simulate: $(STAMP)
	@$(PY) -m sim --all

lint: $(STAMP)
	@echo "==> ruff"
	@$(VENV)/bin/ruff check .
	@echo "==> mypy"
	@$(VENV)/bin/mypy

format: $(STAMP)
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	@$(PY) -m bench

clean:
	@echo "==> removing caches and build output"
	@find . -path ./$(VENV) -prune -o -path ./$(CHECKOV_VENV) -prune -o \
		-name __pycache__ -type d -exec rm -rf {} +
	@rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist *.egg-info

distclean: clean
	@echo "==> removing $(VENV) and $(CHECKOV_VENV)"
	@rm -rf $(VENV) $(CHECKOV_VENV)
