# flinkfleet — the two commands: `make run` (the main job end to end on the local default)
# and `make test` (every test tier). Heavy caches live in $(FLINKFLEET_CACHE), never in the repo.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export FLINKFLEET_CACHE ?= $(HOME)/.cache/flinkfleet
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_FORCE_COLOR ?= $(if $(CI),0,1)
export PY_COLORS ?= $(if $(CI),0,1)
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
export PATH := $(BIN):$(PATH)
PLAYBOOK := $(BIN)/ansible-playbook
PYTHON ?= python3
MVN := mvn -B -ntp
# Scenarios in dependency order: later ones use what earlier ones brought up (`default` is the
# local proving ground: engine, registry, Flink distribution, base image).
MOLECULE_SCENARIOS ?= default build k8s-testbed rollout fleet versions s3

.PHONY: help run test down venv testbed testbed-k8s build rollout lint unit ha ha-it integration molecule collection sanity soak bench-failover bench-build bench-fleet bench-k8s-failover

help:
	@echo "make run    proving ground + Kubernetes testbed, build and push the image, roll Flink out"
	@echo "make test   every test tier: lint, unit, HA plugin (Maven + real Flink), Molecule"
	@echo "make down   stop what this project started (caches and data are kept)"
	@echo "make collection   the flinkfleet.flink collection: tree and tarball under \$$FLINKFLEET_CACHE/collection"
	@echo "make soak   50 SIGKILLs of a lone JobManager (the soak with a standby runs in ha-it)"
	@echo "make bench-failover | bench-build | bench-fleet | bench-k8s-failover   benchmarks (results under bench/*/results/)"

$(VENV)/.installed: requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

venv: $(VENV)/.installed

testbed: venv
	$(PLAYBOOK) playbooks/testbed.yml

build: testbed
	$(PLAYBOOK) build.yml

# A real one-node Kubernetes v1.34 built from Go modules (~20 min cold, cached after) + kwok.
testbed-k8s: testbed
	$(PLAYBOOK) playbooks/testbed_k8s.yml

# The HA plugin's jars (the test job among them), rebuilt only when a source or pom changed:
# a warm `make run` does not start Maven.
HA_PLUGIN_SOURCES := $(shell find ha-plugin -path '*/target' -prune -o -type f \( -name '*.java' -o -name pom.xml -o -path '*/src/main/resources/*' \) -print)
TEST_JOB_JAR := ha-plugin/test-job/target/flinkfleet-ha-test-job.jar
$(TEST_JOB_JAR): $(HA_PLUGIN_SOURCES)
	$(MVN) -q -f ha-plugin package -DskipTests
	@touch $@

# The local fleet of one: the testbed cluster runs ha-plugin/test-job in application mode
# from the image build.yml pushed, with HA on the PVC.
rollout: build testbed-k8s $(TEST_JOB_JAR)
	$(PLAYBOOK) rollout.yml -i inventory/testbed

run: rollout

down: venv
	$(PLAYBOOK) playbooks/testbed_down.yml

lint: venv
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --profile production

unit: venv
	$(BIN)/pytest -q tests/unit

# The HA plugin's own tests (JUnit 5, crash seams); Maven Central only on the first run.
ha:
	$(MVN) -f ha-plugin verify

# The tiers below bring up the proving ground they need; `make test` sets BRINGUP=0 for the
# tiers after a passed molecule tier, whose scenarios brought it up (tests/tools/tiers.py).
BRINGUP ?= 1
bringup = $(if $(filter 1,$(BRINGUP)),$(1))

# Real Flink processes with the plugin, on each version the tests run on (the latest patch
# of each supported line; FLINKFLEET_HA_IT_VERSIONS); each distribution is assembled from PyPI first (cached after).
export FLINKFLEET_HA_IT_VERSIONS ?= 2.3.0 1.20.5 2.0.2 2.1.3 2.2.1
# Kills of the soak with a standby (tests/integration/ha/test_soak_standby.py): the 50 issue 13
# asks for, about 5 s each on a quiet machine (fewer for a quick local run: FLINKFLEET_HA_SOAK_KILLS=10).
export FLINKFLEET_HA_SOAK_KILLS ?= 50
ha-it: $(call bringup,testbed) $(TEST_JOB_JAR)
	$(PLAYBOOK) playbooks/flink_dists.yml -e '{"flinkfleet_ha_it_flink_versions": $(shell $(PYTHON) -c 'import json,sys; print(json.dumps(sys.argv[1:]))' $(FLINKFLEET_HA_IT_VERSIONS))}'
	$(BIN)/python tests/integration/ha/reap.py
	$(BIN)/pytest -v --durations=0 tests/integration/ha

# The flinkfleet.flink collection, assembled from this layout (tools/collection/build.py):
# $(COLLECTION_DIR) holds the tree (where ansible-test wants it), $(COLLECTION_OUT)/dist the tarball.
COLLECTION_OUT := $(FLINKFLEET_CACHE)/collection
COLLECTION_DIR := $(COLLECTION_OUT)/ansible_collections/flinkfleet/flink
collection: venv
	$(BIN)/python tools/collection/build.py $(COLLECTION_OUT)

# ansible-test sanity on the built collection; each test's virtualenv is made once (PyPI) under
# ~/.ansible/test/venv and reused (tools/collection/sanity.py says why it writes get-pip).
sanity: collection
	$(BIN)/python tools/collection/sanity.py $(COLLECTION_DIR)

# Bad input to the roles and to rollout.yml (the latter on the testbed cluster, with the pushed image);
# the proving ground's S3 server (s3proxy on a free port, stopped after).
integration: $(call bringup,build testbed-k8s) collection
	$(BIN)/pytest -q tests/integration/test_testbed_bad_input.py tests/integration/test_rollout_bad_input.py \
	  tests/integration/test_collection.py tests/integration/test_s3_server.py tests/integration/test_kube_auth.py

# Each scenario's output is kept in $(FLINKFLEET_CACHE)/logs, with each task's start time and
# duration (ansible.posix.profile_tasks) and the slowest tasks of every play at its end. Every
# scenario runs, also after one failed (each brings up what it needs); the failed ones' failed
# tasks are printed again last, where a CI log that keeps only head and tail still shows them.
molecule: export ANSIBLE_CALLBACKS_ENABLED = ansible.posix.profile_tasks
molecule: export PROFILE_TASKS_TASK_OUTPUT_LIMIT = 10
molecule: venv
	mkdir -p $(FLINKFLEET_CACHE)/logs
	failed=""; \
	for scenario in $(MOLECULE_SCENARIOS); do \
	  log=$(FLINKFLEET_CACHE)/logs/molecule-$$scenario.log; \
	  $(BIN)/molecule test -s $$scenario 2>&1 | tee $$log || failed="$$failed $$scenario"; \
	done; \
	for scenario in $$failed; do \
	  $(BIN)/python tests/tools/ansible_failures.py $(FLINKFLEET_CACHE)/logs/molecule-$$scenario.log; \
	done; \
	test -z "$$failed" || { echo "failed Molecule scenarios:$$failed"; exit 1; }

# Every tier runs, in this order, even after an earlier one failed; the output ends with one
# table (tier, result, seconds), also kept as $(FLINKFLEET_CACHE)/logs/test-tiers.json.
TEST_TIERS ?= lint unit sanity ha molecule integration ha-it
test: venv
	$(BIN)/python tests/tools/tiers.py $(TEST_TIERS)

soak: testbed $(TEST_JOB_JAR)
	$(BIN)/python tests/integration/ha/soak.py

bench-failover: testbed $(TEST_JOB_JAR)
	$(PLAYBOOK) playbooks/zookeeper.yml
	FLINKFLEET_HA_IT_JVM_OPTS= $(BIN)/python bench/failover/run.py

bench-build: testbed
	$(BIN)/python bench/build/run.py

bench-fleet: testbed-k8s
	$(BIN)/python bench/fleet/run.py

bench-k8s-failover: rollout
	$(BIN)/python bench/k8s_failover/run.py
