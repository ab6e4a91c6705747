# Certwright: every target bootstraps .venv from the pinned lock file on first use.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

SAM_VENV  := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed
# sam build needs a python3.12 interpreter for the Lambda runtime; pyenv provides it on these machines.
SAM_ENV   := SAM_CLI_TELEMETRY=0 PYENV_VERSION=$(shell pyenv versions --bare 2>/dev/null | grep -E '^3\.(11|12)\.' | sort -V | paste -sd: -)

.PHONY: help venv test lint typecheck unit demo bench clean tools sam up

help:
	@echo "make demo   - the whole story on the embedded AWS"
	@echo "make test   - lint, type-check and every test"
	@echo "make bench  - issuance throughput and cost table"
	@echo "make up     - the local runtime: embedded AWS, HTTP API on 127.0.0.1:8080, event router, state in .local-state/"

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP)

# aws-sam-cli pins its own boto3, so it lives in its own virtual environment.
$(SAM_STAMP): requirements-sam.lock
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet -r requirements-sam.lock
	@touch $(SAM_STAMP)

sam: $(SAM_STAMP)
	$(SAM_ENV) $(SAM_VENV)/bin/sam validate --lint -t template.yaml
	rm -rf .aws-sam/check && $(SAM_ENV) $(SAM_VENV)/bin/sam build -t template.yaml --build-dir .aws-sam/check --cache-dir .aws-sam/cache

# openssl is used by the conformance tests and the demo, nginx by the agent's tests, chromium by the console's
# browser tests (tests/console/); install them when missing.
tools:
	@command -v openssl >/dev/null || { apt-get update -qq && apt-get install -y -qq openssl; }
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; }
	@command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml

typecheck: venv
	$(BIN)/mypy

test: venv tools lint typecheck sam
	$(BIN)/pytest -n 2 -q

demo: venv tools
	$(BIN)/python -m infra.demo

bench: venv
	$(BIN)/python -m bench

# make up keeps the embedded AWS's state (local CA keys included) in .local-state/; `make up EPHEMERAL=1` or an
# empty CERTWRIGHT_STATE_DIR forgets everything on exit. make demo and the tests are always ephemeral.
CERTWRIGHT_STATE_DIR ?= .local-state
up: venv
	CERTWRIGHT_STATE_DIR="$(if $(filter 1 yes true,$(EPHEMERAL)),,$(CERTWRIGHT_STATE_DIR))" $(BIN)/python -m infra.runtime

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
