# flinkfleet — the two commands: `make run` (main job end to end, local default) and
# `make test` (every test tier). Heavy caches live in $(FLINKFLEET_CACHE), never in the repo.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export FLINKFLEET_CACHE ?= $(HOME)/.cache/flinkfleet
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_FORCE_COLOR ?= $(if $(CI),0,1)
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
export PATH := $(BIN):$(PATH)
PLAYBOOK := $(BIN)/ansible-playbook
PYTHON ?= python3

.PHONY: help run test down venv lint unit molecule testbed

help:
	@echo "make run    bring up the local proving ground and run the main job end to end"
	@echo "make test   every test tier: lint, unit tests, Molecule scenarios"
	@echo "make down   stop what this project started (caches and data are kept)"

$(VENV)/.installed: requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

venv: $(VENV)/.installed

testbed: venv
	$(PLAYBOOK) playbooks/testbed.yml

run: testbed

down: venv
	$(PLAYBOOK) playbooks/testbed_down.yml

lint: venv
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --profile production

unit: venv
	$(BIN)/pytest -q tests/unit

molecule: venv
	cd $(CURDIR) && $(BIN)/molecule test --all

test: lint unit molecule
