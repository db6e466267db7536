# ParkLink — every target sets itself up first, so each works on a fresh clone.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help setup lint fmt test test-unit test-broker run down bench kafka-up kafka-down clean
.PHONY: deploy-tools check-deploy

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (ParkLink needs Python >= 3.11)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP) ## create .venv and install ParkLink with its dev tools (fast when nothing changed)
	@bash deploy/setup-system.sh

lint: setup ## ruff (format check + lint) and mypy --strict over services, tests and bench
	$(BIN)/ruff format --check services tests bench
	$(BIN)/ruff check services tests bench
	$(BIN)/mypy

fmt: setup ## format and auto-fix with ruff
	$(BIN)/ruff format services tests bench
	$(BIN)/ruff check --fix services tests bench

# Two workers: most broker tests wait on Kafka, not on the CPU. Each worker starts its own
# session broker; a test module (and the fault tier as a whole) stays on one worker.
TEST_WORKERS ?= 2

test: setup lint deploy-tools ## lint, then the whole suite against real Kafka brokers the tests start
	$(BIN)/pytest tests -n $(TEST_WORKERS) --dist loadgroup

deploy-tools: ## install the checkers of deploy/ once (compose, kubeconform, kube-score, hadolint, promtool)
	@bash deploy/tools/install.sh

check-deploy: setup deploy-tools ## check compose, Kubernetes, Dockerfile and Prometheus files with those tools
	$(BIN)/pytest tests/deploy -m "not broker"

test-unit: setup ## only the unit and contract tiers (no broker)
	$(BIN)/pytest tests/unit tests/contract

run: setup ## the whole network with the simulator, in the foreground (Ctrl-C stops it)
	$(BIN)/parklink up

down: setup ## stop a network started with `parklink up --detach`
	$(BIN)/parklink down

bench: setup ## benchmarks; prints one table of figures (ONLY="serde gateway" for some)
	$(BIN)/python -m bench $(ONLY)

kafka-up: setup ## start the local Kafka (KRaft) broker
	$(BIN)/parklink kafka up

kafka-down: setup ## stop the local Kafka broker
	$(BIN)/parklink kafka down

clean: ## remove the virtualenv and caches (keeps .parklink state)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
