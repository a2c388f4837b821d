# rudder-ha: everything a fresh machine needs, installed by the project's own files.
#   make synth [ENV=prod]   synthesize every environment (or one) into cdktf.out/, no AWS account needed
#   make test               lint and run the whole test suite
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
PIPENV_VERSION := 2026.10.3
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

.PHONY: help install postgres-server nftables synth test lint bench deploy diff pulumi-preview pulumi-up clean

help:
	@sed -n 's/^#   //p' Makefile

CHECKOV_VENV := tools/checkov/.venv

$(BIN)/.synced: Pipfile.lock
	$(PYTHON) -m pip install --quiet --disable-pip-version-check "pipenv==$(PIPENV_VERSION)"
	$(PYTHON) -m pipenv sync --dev
	touch $@

# checkov in its own locked virtualenv (its pins clash with pulumi's and moto's in one resolution).
$(CHECKOV_VENV)/.synced: tools/checkov/Pipfile.lock $(BIN)/.synced
	cd tools/checkov && $(PYTHON) -m pipenv sync
	touch $@

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

install: $(BIN)/.synced

synth: $(BIN)/.synced
	$(BIN)/python -m rudder_ha synth $(ENV)

lint: $(BIN)/.synced
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(BIN)/.synced $(CHECKOV_VENV)/.synced $(CLOUD_INIT_SCHEMA) postgres-server nftables lint
	CLOUD_INIT_SCHEMA=$(CLOUD_INIT_SCHEMA) RUDDER_HA_REQUIRE_POSTGRES=1 $(BIN)/python -m pytest

bench: $(BIN)/.synced
	for script in benchmarks/*.py; do $(BIN)/python "$$script"; done

# Deploy (or diff) one environment with Terraform itself: synthesize with Python, then terraform init and
# apply (plan) in each of its stacks, in deployment order. TF=tofu uses OpenTofu; AUTO_APPROVE=1 skips the
# confirmation. No Node and no cdktf CLI; `npx cdktf deploy` still works for whoever prefers it.
deploy diff: $(BIN)/.synced
	@test -n "$(ENV)" || { echo "usage: make $@ ENV=<environment>"; exit 2; }
	$(BIN)/python -m rudder_ha $@ $(ENV)

# The Pulumi front end (same environments, Lambdas and instance bundle): needs the Pulumi CLI and AWS
# credentials. State goes to the environment's state bucket under pulumi/ (python -m rudder_ha pulumi-backend).
pulumi-preview pulumi-up: $(BIN)/.synced
	@test -n "$(ENV)" || { echo "usage: make $@ ENV=<environment>"; exit 2; }
	@command -v pulumi >/dev/null || { echo "$@: the Pulumi CLI is not installed (see README, Deploying with Pulumi)"; exit 2; }
	backend="$$($(BIN)/python -m rudder_ha pulumi-backend $(ENV))" && eval "$$backend" && \
	  pulumi -C pulumi-program stack select --create --secrets-provider "$$PULUMI_SECRETS_PROVIDER" $(ENV) && \
	  pulumi -C pulumi-program $(patsubst pulumi-%,%,$@) --stack $(ENV)

clean:
	rm -rf cdktf.out $(BUILD) .pytest_cache .ruff_cache
