# Certwright: every target bootstraps .venv from the pinned lock file on first use.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

SAM_VENV  := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed
# sam build needs a python3.12 interpreter for the Lambda runtime; pyenv provides it on these machines.
SAM_ENV   := SAM_CLI_TELEMETRY=0 PYENV_VERSION=$(shell pyenv versions --bare 2>/dev/null | grep -E '^3\.(11|12)\.' | sort -V | paste -sd: -)

.PHONY: help venv test lint typecheck unit demo bench clean tools sam up acme-venv

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

# certbot pins its own libraries (acme, josepy...), so the real-client ACME tests run it from its own venv.
ACME_VENV  := .venv-acme
ACME_STAMP := $(ACME_VENV)/.installed
$(ACME_STAMP): requirements-acme.lock
	$(PYTHON) -m venv $(ACME_VENV)
	$(ACME_VENV)/bin/pip install --quiet -r requirements-acme.lock
	@touch $(ACME_STAMP)

acme-venv: $(ACME_STAMP)

sam: $(SAM_STAMP)
	$(SAM_ENV) $(SAM_VENV)/bin/sam validate --lint -t template.yaml
	rm -rf .aws-sam/check && $(SAM_ENV) $(SAM_VENV)/bin/sam build -t template.yaml --build-dir .aws-sam/check --cache-dir .aws-sam/cache

# Debian packages the tests and the demo use, installed when missing (one apt-get update for all of them):
# openssl (conformance tests, demo), nginx (the agent's tests), chromium (the console's browser tests),
# pebble (a reference ACME server, with pebble-challtestsrv, a test DNS server) and lego (the ACME client tests).
tools:
	@missing=""; \
	command -v openssl >/dev/null || missing="$$missing openssl"; \
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	{ command -v pebble >/dev/null && command -v pebble-challtestsrv >/dev/null; } || missing="$$missing pebble"; \
	command -v lego >/dev/null || missing="$$missing lego"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml

typecheck: venv
	$(BIN)/mypy

# Three workers on two cores: a third of the suite waits (real runtimes, browsers, certbot, the demo's sweep),
# and a third worker runs meanwhile (measured: 496 s with -n 3, idle machine; -n 2 left 25% of the CPU unused).
# --maxschedchunk 4: xdist otherwise hands each worker a quarter of its share at once, in collection order, so the
# slowest files (run first, tests/conftest.py SLOWEST_FIRST) all went to one worker, which ran alone for the last
# 190 s of 500 (measured); handed out four at a time, the three workers end within seconds of one another.
# These machines set PYTHONDONTWRITEBYTECODE=1: every worker and every Python subprocess a test starts compiled
# (and pytest assertion-rewrote) each module from source again; the tests cache bytecode in __pycache__/ (ignored).
test: venv tools acme-venv lint typecheck sam
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -n 3 --maxschedchunk 4 -q

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
	rm -rf $(VENV) $(SAM_VENV) $(ACME_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
