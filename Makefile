# Certwright: every target bootstraps .venv from the pinned lock file on first use.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help venv test lint typecheck unit demo bench clean tools

help:
	@echo "make demo   - the whole story on the embedded AWS"
	@echo "make test   - lint, type-check and every test"
	@echo "make bench  - issuance throughput and cost table"

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP)

# openssl is used by the conformance tests and the demo; install it when a machine lacks it.
tools:
	@command -v openssl >/dev/null || { apt-get update -qq && apt-get install -y -qq openssl; }

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml

typecheck: venv
	$(BIN)/mypy

test: venv tools lint typecheck
	$(BIN)/pytest -n 2 -q

demo: venv tools
	$(BIN)/python -m infra.demo

bench: venv
	$(BIN)/python -m bench.issuance

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
