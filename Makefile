# awsome-chat: every command a user or CI needs. Each target bootstraps
# the virtualenv it uses, so a fresh clone needs only Python 3.11+ (and
# Terraform for deploy/destroy/rehearse).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CHECKOV_VENV := .venv-checkov
TF_DIR := terraform
PORT   ?= 8080
AUTH   ?=

.PHONY: dev check test test-js lint fmt build bench bench-workers bench-smoke soak deploy smoke destroy rehearse clean checkov-venv

# The bytecode is compiled after the install, on every core (pip compiles on one, a third of
# its time): without it, the test sessions' processes, started together, would each compile
# the same modules on their first import (58 s more for `make test`, measured).
$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --no-compile --upgrade pip
	$(VENV)/bin/pip install --quiet --no-compile -r requirements-dev.txt
	$(PY) -m compileall -q -j 0 $(VENV)/lib
	touch $(STAMP)

# checkov runs in one process at a time: it compiles what it imports once, on its first run.
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --no-compile -r requirements-checkov.txt
	touch $@

checkov-venv: $(CHECKOV_VENV)/.installed

## dev: run the whole chat locally on http://127.0.0.1:$(PORT); AUTH=cognito runs it with
## sign-in (a local Cognito user pool in moto; prints a demo user), AUTH=oidc with a local
## OpenID Connect issuer (pick any user name there); TF_VAR_<name>=... sets any Terraform
## variable that reaches the function, as for terraform apply (TF_VAR_auth as AUTH does)
dev: $(STAMP)
	$(PY) -m local_stack.dev --port $(PORT) $(if $(AUTH),--auth $(AUTH))

## check: the fast loop (under a minute): lint and the page's Node tests (test-js), then the
## pure unit, handler and emulator-core tests, the docs' citations and the facts shared across
## languages (tests/test_docs_names.py, tests/test_shared_facts.py); no browser, Terraform,
## rehearsal, benchmark or end-to-end stack. --dist worksteal: an idle worker takes tests
## queued for the other, so the big-room tests (test_room_reads.py, 14 s) do not end the run
## on one worker (42.6 to 43.4 s for `make check`, against 51 to 55 s with --dist load)
CHECK_TESTS := tests/test_docs_names.py tests/test_shared_facts.py tests/test_fast_aws.py tests/backend tests/scripts tests/local_stack/emulator/test_core.py tests/local_stack/emulator/test_boundary.py tests/local_stack/test_moto_rollback.py tests/bench/test_boto3_sender.py
check: $(STAMP) lint test-js
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist worksteal -m "not slow and not browser and not terraform" $(CHECK_TESTS)

## test: lint, then every test (unit, emulator, end to end, browser, terraform, rehearsal) on
## pytest-xdist processes, a test file's tests on one worker (its fixtures), in two sessions
## side by side: the files that run Terraform on TERRAFORM_WORKERS at the lowest CPU priority
## (nice 19: they wait on the provider's timers, SQS's, KMS's and CloudFront's, and take the
## CPU the others leave), the rest on TEST_WORKERS (the browser and end-to-end tests have
## latency bounds that a third worker's load breaks). The Terraform session's report follows
## the rest's (its log: TERRAFORM_LOG); both always run, either failing fails
TEST_WORKERS ?= 2
TERRAFORM_WORKERS ?= 4
TERRAFORM_LOG := build/test-terraform.log
test:
	@# The two virtualenvs install side by side, then lint, the zips and the page's Node
	@# tests; a failure stops here.
	$(MAKE) --no-print-directory -j2 $(STAMP) checkov-venv
	$(MAKE) --no-print-directory -j2 lint build test-js
	@terraform=0; rest=0; \
	nice -n 19 $(PY) -m pytest -n $(TERRAFORM_WORKERS) --dist loadfile -m terraform \
		> $(TERRAFORM_LOG) 2>&1 & terraform_pid=$$!; \
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not terraform" || rest=$$?; \
	wait $$terraform_pid || terraform=$$?; \
	echo "--- the files that run Terraform (pytest -m terraform, nice 19; $(TERRAFORM_LOG)):"; \
	cat $(TERRAFORM_LOG); \
	[ $$terraform -eq 0 ] && [ $$rest -eq 0 ]

## test-js: the page's logic modules (frontend/js: the chat session, history sync, outbox,
## presence) under Node's own test runner: no browser, no npm packages; Node 18.19 or later
## (tests/js/frontend_modules.mjs makes Node read frontend/js/*.js as ES modules)
JS_TESTS := $(wildcard tests/js/*.test.mjs)
test-js:
	node --import ./tests/js/frontend_modules.mjs --test --test-reporter=spec $(JS_TESTS)

## lint: ruff and mypy --strict on the source
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
	terraform -chdir=$(TF_DIR) fmt -recursive

# The compiler of the zips' bytecode for Lambda's Python 3.13 (scripts/runtime_bytecode.py):
# without it (no npm, or no registry to install from) the zips carry sources alone, and the
# build says so; the tests that check the bytecode fail in CI.
BYTECODE := scripts/bytecode/node_modules/.package-lock.json
$(BYTECODE): scripts/bytecode/package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "warning: npm is not installed: the Lambda zips will carry no bytecode" >&2; \
	elif ! npm ci --prefix scripts/bytecode --no-audit --no-fund --loglevel=error; then \
	  rm -rf scripts/bytecode/node_modules; \
	  echo "warning: npm ci failed: the Lambda zips will carry no bytecode" >&2; \
	fi

## build: the reproducible Lambda zips: build/lambda.zip (the chat, with its bytecode for the
## runtime) and build/authorizer.zip (the sign-in authorizer with its pinned aarch64 wheels,
## cached in build/authorizer-wheels/)
build: $(STAMP) $(BYTECODE)
	$(PY) -m scripts.build_lambda
	$(PY) -m scripts.build_authorizer

## bench: the benchmarks (never part of `make test`), the delivery workers' among them; the
## tables go to bench/results/
bench: $(STAMP) build
	$(PY) -m bench

## bench-workers: the delivery workers' benchmark alone (big rooms: 1,000, 10,000 and 100,000
## recipients against a simulated @connections endpoint, each worker under Lambda's CPU share)
bench-workers: $(STAMP)
	$(PY) -m bench.workers

## bench-smoke: the benchmarks at tiny sizes, to check they still run (seconds)
bench-smoke: $(STAMP) build
	$(PY) -m bench --smoke

## soak: the reliability campaign (never part of `make test`; loopback only, bounded): the
## property tests under Hypothesis's soak profile, then python -m soak (docs/reliability.md)
SOAK_ARGS ?=
PROPERTY_TESTS := tests/local_stack/emulator/test_route_properties.py \
	tests/local_stack/emulator/test_throttling.py tests/backend/test_protocol_properties.py \
	tests/local_stack/test_hostile_frames.py
soak: $(STAMP)
	HYPOTHESIS_PROFILE=soak $(PY) -m pytest -q $(PROPERTY_TESTS)
	$(PY) -m soak $(SOAK_ARGS)

## rehearse: apply terraform/ against a local AWS emulator and run the chat checks on it
rehearse: $(STAMP) build
	$(PY) -m deployment.rehearse

## deploy / destroy: the real thing, with your AWS credentials
deploy: $(STAMP) build
	terraform -chdir=$(TF_DIR) init
	terraform -chdir=$(TF_DIR) apply
	@echo "Open the chat at: $$(terraform -chdir=$(TF_DIR) output -raw website_url)"

## smoke: after `make deploy`, check the real deployment (page, CSP header, bucket not public,
## sign-in, WebSockets, history, @connections) with your AWS credentials; one line per check,
## non-zero exit on any failure (never run against AWS in CI; the rehearsal runs it on moto).
## With auth = "cognito" it signs in a throwaway user it deletes; with "oidc" give a token:
## SMOKE_ARGS="--id-token eyJ..." (or AWSOME_SMOKE_ID_TOKEN), else those checks are skipped
SMOKE_ARGS ?=
smoke: $(STAMP)
	$(PY) -m deployment.smoke --terraform-dir $(TF_DIR) $(SMOKE_ARGS)

destroy:
	terraform -chdir=$(TF_DIR) init
	terraform -chdir=$(TF_DIR) destroy

clean:
	rm -rf build test-artifacts bench/results .pytest_cache .mypy_cache .ruff_cache
	rm -rf scripts/bytecode/node_modules
