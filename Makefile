# topo — every target depends on .venv, which `make venv` builds from scratch on a fresh machine.
#   make up      bring the whole platform up locally (provision Docker, build/pull images, up, bootstrap)
#   make test    unit tests + golden + corpus + fuzz + Docker smoke test, then the contract gate (provisions what it needs)
#   make gate    the pre-deploy contract gate alone (validate, render --check, budget, contracts; reports/)
#   make down    stop the stack, keep its data          make clean   stop and remove volumes + secrets
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
TOPO := $(VENV)/bin/topo
PY := $(VENV)/bin/python
PYTEST_ARGS ?= --durations=15
GATE_EVENTS ?= 2000

.PHONY: venv provision images render validate check test unit gate up down clean status golden examples bench help graph-deps graphs

help:
	@sed -n '1,5p' Makefile

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]' -e app/
	touch $@

venv: $(VENV)/.installed

provision: venv graph-deps
	bash scripts/provision-docker.sh

# Graphviz `dot` lays out `topo graph --format svg`; installed from the OS packages as root (idempotent)
graph-deps:
	bash scripts/provision-graphviz.sh

# the committed pictures of the reference topology, one per host
graphs: venv graph-deps
	for host in compose aws railway cloudrun; do $(TOPO) graph --target $$host --format svg -o docs/graphs/$$host.svg; done

images: provision
	$(TOPO) images build

render: venv
	$(TOPO) render

validate: venv
	$(TOPO) validate

check: venv
	$(TOPO) validate
	$(TOPO) render --check

unit: venv graph-deps
	$(PY) -m pytest -m "not docker" $(PYTEST_ARGS)

test: venv provision images check rules-deps railway-deps asyncapi-deps
	$(PY) -m pytest $(PYTEST_ARGS)
	$(TOPO) gate --events $(GATE_EVENTS)

# Node dependencies of the Firestore rules unit tests (tests/firestore-rules), from the committed lock file;
# nothing to do while node_modules is newer than package.json and package-lock.json.
RULES_DIR := tests/firestore-rules
.PHONY: rules-deps
rules-deps: $(RULES_DIR)/node_modules/.package-lock.json

$(RULES_DIR)/node_modules/.package-lock.json: $(RULES_DIR)/package.json $(RULES_DIR)/package-lock.json
	npm ci --prefix $(RULES_DIR) --no-audit --no-fund
	touch $@

# Node dependencies of the Railway IaC check (tests/railway-iac: Railway's SDK `railway` and TypeScript, which
# type-check and evaluate deploy/railway/.railway/railway.ts in tests/test_railway_render.py), from the lock file.
IAC_DIR := tests/railway-iac
.PHONY: railway-deps
railway-deps: $(IAC_DIR)/node_modules/.package-lock.json

$(IAC_DIR)/node_modules/.package-lock.json: $(IAC_DIR)/package.json $(IAC_DIR)/package-lock.json
	npm ci --prefix $(IAC_DIR) --no-audit --no-fund
	touch $@

# Node dependencies of the AsyncAPI check (tests/asyncapi: the AsyncAPI Initiative's @asyncapi/parser, which parses
# the rendered deploy/asyncapi.yaml in tests/test_asyncapi.py), from the committed lock file.
ASYNCAPI_DIR := tests/asyncapi
.PHONY: asyncapi-deps
asyncapi-deps: $(ASYNCAPI_DIR)/node_modules/.package-lock.json

$(ASYNCAPI_DIR)/node_modules/.package-lock.json: $(ASYNCAPI_DIR)/package.json $(ASYNCAPI_DIR)/package-lock.json
	npm ci --prefix $(ASYNCAPI_DIR) --no-audit --no-fund
	touch $@

gate: venv provision images
	$(TOPO) gate --events $(GATE_EVENTS)

up: venv provision images
	$(TOPO) up

down: venv
	$(TOPO) down

clean: venv
	$(TOPO) down --volumes

status: venv
	$(TOPO) status

golden: venv
	$(PY) -m tests.golden.regenerate

examples: venv
	$(PY) examples/generate.py

bench: venv
	$(PY) bench/up.py
	$(PY) bench/pipeline.py
