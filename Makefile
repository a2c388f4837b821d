# rudder-ha: everything a fresh machine needs, installed by the project's own files.
#   make synth [ENV=prod]   synthesize every environment (or one) into cdktf.out/, no AWS account needed
#   make test               lint and run the whole test suite
#   make doctor ENV=prod    check the AWS account is ready for an environment (boto3, read-only)
#   make drill ENV=staging SCENARIO=instance-loss   inject a failure into a deployed environment and measure it
#   make lock               re-resolve requirements/*.txt from pyproject.toml (keeps current pins unless UPGRADE=1)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
PIPENV_VERSION := 2026.10.3
UV_VERSION := 0.13.9
VENV := .venv
BIN := $(VENV)/bin
BUILD := .build
CLOUD_INIT_SCHEMA := $(BUILD)/cloud-init/schema-cloud-config-v1.json
export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_YES := 1
export PIPENV_NOSPIN := 1
export PIPENV_VERBOSITY := -1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CHECKOV_RUN_SCA_PACKAGE_SCAN_V2 := false
export BC_SKIP_MAPPING := TRUE

ENV ?=

.PHONY: help install install-aws install-pulumi install-test lock doctor drill postgres-server nftables synth test lint \
	bench deploy diff pulumi-preview pulumi-up clean

help:
	@sed -n 's/^#   //p' Makefile

CHECKOV_VENV := tools/checkov/.venv

# One virtualenv, filled per command from locked, hashed requirement files. Each file is the complete closure
# of its command and pins everything the file before it pins (synth < aws, synth < pulumi, both < test), so
# installing a later one only adds packages. Wheels only, nothing resolved at install time, no bytecode
# compiled up front (Python writes it for the modules a command imports).
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
	--only-binary=:all: --no-compile

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# What synthesis imports: cdktf, the providers, constructs, jsonschema, pyyaml.
$(BIN)/.synth-synced: requirements/synth.txt | $(BIN)/python
	$(PIP_INSTALL) -r requirements/synth.txt
	touch $@

# The commands that call AWS from this machine (doctor, drill): the above plus boto3.
$(BIN)/.aws-synced: requirements/aws.txt | $(BIN)/python
	$(PIP_INSTALL) -r requirements/aws.txt
	touch $@

# The Pulumi front end: synth's plus pulumi and pulumi-aws.
$(BIN)/.pulumi-synced: requirements/pulumi.txt | $(BIN)/python
	$(PIP_INSTALL) -r requirements/pulumi.txt
	touch $@

# The tests and linters: all of the above plus pytest, moto, hypothesis, psycopg, ruff, shellcheck...
$(BIN)/.test-synced: requirements/test.txt | $(BIN)/python
	$(PIP_INSTALL) -r requirements/test.txt
	touch $@

# checkov in its own locked virtualenv (its pins clash with pulumi's and moto's in one resolution).
$(CHECKOV_VENV)/.synced: tools/checkov/Pipfile.lock
	$(PYTHON) -m pip install --quiet --disable-pip-version-check "pipenv==$(PIPENV_VERSION)"
	cd tools/checkov && $(PYTHON) -m pipenv sync
	touch $@

# Re-resolves the three files from pyproject.toml with uv (pinned, in its own virtualenv under .build/).
# Existing pins are kept unless UPGRADE=1; each layer is constrained by the one before it.
LOCK_TOOLS := $(BUILD)/lock-tools
UV := $(LOCK_TOOLS)/bin/uv
UV_COMPILE = $(UV) pip compile pyproject.toml --quiet --python-version 3.11 --generate-hashes \
	--annotation-style line --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)
$(UV):
	$(PYTHON) -m venv $(LOCK_TOOLS)
	$(LOCK_TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

lock: $(UV)
	$(UV_COMPILE) -o requirements/synth.txt
	$(UV_COMPILE) --extra pulumi -c requirements/synth.txt -o requirements/pulumi.txt
	$(UV_COMPILE) --extra aws -c requirements/synth.txt -o requirements/aws.txt
	$(UV_COMPILE) --extra test -c requirements/pulumi.txt -c requirements/aws.txt -o requirements/test.txt

# cloud-init's own JSON schema for cloud-config, taken from Debian's cloud-init package (the tests
# validate the user data against it). Only the schema file is extracted; nothing is installed.
$(CLOUD_INIT_SCHEMA):
	mkdir -p $(BUILD)/cloud-init/deb
	cd $(BUILD)/cloud-init/deb && { apt-get download cloud-init 2>/dev/null || { apt-get update -qq && apt-get download cloud-init; }; }
	dpkg-deb -x $(BUILD)/cloud-init/deb/cloud-init_*.deb $(BUILD)/cloud-init/root
	cp "$$(find $(BUILD)/cloud-init/root -name schema-cloud-config-v1.json | head -n 1)" $@

# A PostgreSQL server for the tests' throwaway jobsdb (Debian's package where none is installed).
postgres-server:
	@if command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; \
	else apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15; fi

# nftables, so the tests load the instance's IMDS guard rules into the real kernel (Debian's package).
nftables:
	@command -v nft >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nftables; }

install: $(BIN)/.synth-synced
install-aws: $(BIN)/.aws-synced
install-pulumi: $(BIN)/.pulumi-synced
install-test: $(BIN)/.test-synced

synth: $(BIN)/.synth-synced
	$(BIN)/python -m rudder_ha synth $(ENV)

lint: $(BIN)/.test-synced
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Three pytest-xdist workers on two cores: the third fills the time the others spend waiting on PostgreSQL,
# subprocesses and local servers (on one 2-core machine: -n 2 235 s, -n 3 174 s, -n 4 186 s; after the
# grouping below, -n 3 and -n 4 both 152 s, -n 4 with more CPU; now -n 3 127 s, -n 4 131 s). loadgroup
# keeps the tests that share a costly fixture on one worker (tests/support/worker_groups.py). Bytecode caches
# are written (gitignored) even where the environment says not to: workers and the commands the tests
# start then compile each module and rewrite each test module's asserts once.
TEST_WORKERS ?= 3
test: $(BIN)/.test-synced $(CHECKOV_VENV)/.synced $(CLOUD_INIT_SCHEMA) postgres-server nftables lint
	CLOUD_INIT_SCHEMA=$(CLOUD_INIT_SCHEMA) RUDDER_HA_REQUIRE_POSTGRES=1 PYTHONDONTWRITEBYTECODE= \
		$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

bench: $(BIN)/.test-synced
	for script in benchmarks/*.py; do $(BIN)/python "$$script"; done

# Deploy (or diff) one environment with Terraform itself: synthesize with Python, then terraform init and
# apply (plan) in each of its stacks, in deployment order. TF=tofu uses OpenTofu; AUTO_APPROVE=1 skips the
# confirmation. No Node and no cdktf CLI; `npx cdktf deploy` still works for whoever prefers it.
deploy diff: $(BIN)/.synth-synced
	@test -n "$(ENV)" || { echo "usage: make $@ ENV=<environment>"; exit 2; }
	$(BIN)/python -m rudder_ha $@ $(ENV)

# Preflight against the account (read-only): one line per problem with its fix, exit 1 until ready.
doctor: $(BIN)/.aws-synced
	@test -n "$(ENV)" || { echo "usage: make $@ ENV=<environment>"; exit 2; }
	$(BIN)/python -m rudder_ha doctor $(ENV)

# A failure drill against a deployed environment (asks for confirmation; prod also needs --i-mean-prod,
# given through ARGS). SCENARIO: instance-loss, hang, scale-in or az-loss.
drill: $(BIN)/.aws-synced
	@test -n "$(ENV)" -a -n "$(SCENARIO)" || { echo "usage: make $@ ENV=<environment> SCENARIO=<scenario> [ARGS=...]"; exit 2; }
	$(BIN)/python -m rudder_ha drill $(ENV) --scenario $(SCENARIO) $(ARGS)

# The Pulumi front end (same environments, Lambdas and instance bundle): needs the Pulumi CLI and AWS
# credentials. State goes to the environment's state bucket under pulumi/ (python -m rudder_ha pulumi-backend).
pulumi-preview pulumi-up: $(BIN)/.pulumi-synced
	@test -n "$(ENV)" || { echo "usage: make $@ ENV=<environment>"; exit 2; }
	@command -v pulumi >/dev/null || { echo "$@: the Pulumi CLI is not installed (see README, Deploying with Pulumi)"; exit 2; }
	backend="$$($(BIN)/python -m rudder_ha pulumi-backend $(ENV))" && eval "$$backend" && \
	  pulumi -C pulumi-program stack select --create --secrets-provider "$$PULUMI_SECRETS_PROVIDER" $(ENV) && \
	  pulumi -C pulumi-program $(patsubst pulumi-%,%,$@) --stack $(ENV)

clean:
	rm -rf cdktf.out $(BUILD) .pytest_cache .ruff_cache
