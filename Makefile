# storeedge — the README's commands: `make demo` and `make test` (both build on `make venv`).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv browser test lint format demo bench models proto proto-check proto-lock lock clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

venv: $(STAMP)  ## create .venv with the kit, the hub extra and the test tools

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "storeedge needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[hub,dev]'
	@touch $(STAMP)

lint: venv  ## ruff lint + format check, and the wire contract check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/protos.py check

format: venv  ## apply ruff formatting and safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

browser:  ## Debian's chromium for the report's browser test (apt-get; needs root or sudo)
	@bash scripts/install_chromium.sh > /dev/null

test: venv browser lint  ## lint, then the whole test suite (unit, integration, faults)
	$(BIN)/python -m pytest -m "not bench" -q tests

demo: venv  ## the whole story in a few minutes: stores, weeks of decisions, hub, outage, retrain, rollout, lift, report
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

bench: venv  ## benchmarks (pytest-benchmark); figures go to BENCHMARKS.md
	$(BIN)/python -m pytest -m bench -q -s tests/bench --benchmark-json=.bench.json
	$(BIN)/python scripts/bench_report.py .bench.json

models: venv  ## rebuild the shipped bootstrap models (ONNX + manifests) from ../shared/data
	$(BIN)/cloud-hub models build-bootstrap --data ../shared/data --out models/bootstrap

proto: venv  ## regenerate the committed Python code from protos/
	$(BIN)/python scripts/protos.py generate

proto-check: venv  ## fail if generated code is stale or the protos broke compatibility
	$(BIN)/python scripts/protos.py check

proto-lock: venv  ## record the current (compatible) descriptors as the new baseline
	$(BIN)/python scripts/protos.py lock

lock: venv  ## refresh constraints.txt from the current venv
	$(BIN)/python -m pip freeze --exclude-editable | sed '1i # Pinned versions for reproducible installs (`make venv` uses them). Regenerate with `make lock`.' > constraints.txt

clean:  ## remove the venv and generated run data
	rm -rf $(VENV) .demo .bench.json .pytest_cache
