# Turbocat's interface: every command the README shows is a target here.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO          ?= go
BIN         := $(CURDIR)/bin
SQLC        := $(BIN)/sqlc
SQLC_VERSION := v1.31.1
ASLVALIDATOR := tools/aslvalidator/node_modules/.bin/asl-validator
PORT        ?= 3001
DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/turbocat?sslmode=disable
export TURBOCAT_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/turbocat_test?sslmode=disable
FUNCTIONS   := $(patsubst functions/%/main.go,%,$(wildcard functions/*/main.go))
GOTEST_FLAGS ?= -count=1 -timeout 20m
# Every package of the module; node_modules trees (web/, tools/) can hold
# stray Go files of npm packages, which are not ours.
PKGS = $$($(GO) list ./... | grep -v /node_modules/)

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: db
db: ## Start the local Postgres if needed and create the turbocat databases.
	@bash scripts/ensure-postgres.sh turbocat turbocat_test

.PHONY: dev
dev: web ## Run Turbocat locally: console and API on :$(PORT), migrations applied.
	@bash scripts/ensure-postgres.sh "$(DATABASE_URL)"
	@eval "$$(bash scripts/dev-env.sh --exports)"; \
	  DATABASE_URL="$(DATABASE_URL)" PORT="$(PORT)" $(GO) run ./cmd/turbocat dev

.PHONY: migrate
migrate: db ## Apply database migrations to DATABASE_URL.
	DATABASE_URL="$(DATABASE_URL)" $(GO) run ./cmd/turbocat migrate

.PHONY: test
test: db web $(ASLVALIDATOR) $(RIE) ## Run lint and verify, every test against the local Postgres (coverage.out), asl-validator, each fuzz target briefly, the console's browser tests and the CDK app's tests.
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory verify
	$(GO) test $(GOTEST_FLAGS) -coverprofile=coverage.out -covermode=atomic $(PKGS)
	@$(GO) tool cover -func=coverage.out | tail -n 1
	bash tools/aslvalidator/validate.sh
	@FUZZTIME=3s bash scripts/fuzz.sh
	@$(MAKE) --no-print-directory e2e-web
	@$(MAKE) --no-print-directory test-infra

.PHONY: fuzz
fuzz: db ## Run every fuzz target for FUZZTIME (default 2m).
	FUZZTIME=$(or $(FUZZTIME),2m) bash scripts/fuzz.sh

.PHONY: bench
bench: db ## Go benchmarks of the hot paths (JWT, API keys, ...).
	$(GO) test -run '^$$' -bench . -benchmem $$($(GO) list ./internal/... | grep -v /node_modules/)

.PHONY: bench-engine
bench-engine: db ## The "40 lightweight tasks" test through the API (bench/engine.sh).
	bash bench/engine.sh

.PHONY: bench-hooks
bench-hooks: db ## Webhook → one-step run → persisted under load: runs/s, p50/p99, RSS, round trips (bench/hooks.sh).
	bash bench/hooks.sh

.PHONY: bench-pgcpu
bench-pgcpu: db ## Postgres CPU per statement of a webhook run, from the server log (bench/pgcpu.sh).
	bash bench/pgcpu.sh

.PHONY: bench-cli
bench-cli: db ## Time validate, a first apply and no-op plans of 100 agents and 50 deployed workflows (bench/cli.sh).
	bash bench/cli.sh

# The AWS Lambda Runtime Interface Emulator: make test runs every function
# under it (internal/lambdafn), make bench-lambda times their cold starts.
RIE         := $(BIN)/aws-lambda-rie
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
$(RIE):
	CGO_ENABLED=0 GOBIN=$(BIN) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

.PHONY: rie
rie: $(RIE) ## Install the Lambda Runtime Interface Emulator into bin/.

.PHONY: bench-lambda
bench-lambda: db $(RIE) ## Size and median cold start (INIT) of every function under the Runtime Interface Emulator (bench/lambda.sh; BASE=main compares).
	BASE=$(BASE) bash bench/lambda.sh

.PHONY: bench-api
bench-api: db ## Load GET /workflows/{id} beside pgbench running the same SQL (bench/api.sh).
	bash bench/api.sh

# Not part of `make test`: it takes minutes and breaks things on purpose.
# CHAOS_RUNS, CHAOS_FAULT and CHAOS_WORKLOAD (steps or agent) choose the
# load, the faults and the workflow; CHAOS_FLAGS passes anything else
# (`go run ./bench/chaos -h` lists the flags).
.PHONY: chaos
chaos: ## Fault injection: runs on a private Postgres under restart, kill -9 of the postmaster, of turbocat dev, and both (bench/chaos).
	CHAOS_RUNS="$(CHAOS_RUNS)" CHAOS_FAULT="$(CHAOS_FAULT)" CHAOS_WORKLOAD="$(CHAOS_WORKLOAD)" $(GO) run ./bench/chaos $(CHAOS_FLAGS)

$(SQLC):
	CGO_ENABLED=0 GOBIN=$(BIN) $(GO) install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)

.PHONY: generate
generate: $(SQLC) ## Regenerate sqlc code and compiled state machines.
	$(SQLC) generate
	$(GO) run ./internal/compiler/cmd/genstatemachines

.PHONY: verify
verify: generate ## Regenerate everything generated and fail on any drift.
	@git add -N internal/postgres/dbsqlc statemachines >/dev/null 2>&1 || true
	@if ! git diff --exit-code --stat -- internal/postgres/dbsqlc statemachines; then \
	  echo "verify: generated files drifted; run 'make generate' and commit the result" >&2; exit 1; fi

STATICCHECK := $(BIN)/staticcheck
$(STATICCHECK):
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2

# gofmt and go vet, plus staticcheck with its default checks: correctness
# (SA), simplifications (S), style (ST) and unused code (U), the set the Go
# community treats as the baseline. Exceptions live in staticcheck.conf files
# beside the code they concern, each with its reason.
.PHONY: lint
lint: $(STATICCHECK) ## gofmt, go vet and staticcheck.
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^infra/')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(STATICCHECK) $(PKGS)

.PHONY: web
web: ## Build the web console into web/out (embedded by turbocat dev) when web/ changed: npm ci, lint, type-check, static export (FORCE=1 always).
	@bash scripts/web-build.sh

.PHONY: test-web
test-web: db web ## Browser end-to-end tests of the console (Debian chromium, installed with apt when missing).
	@$(MAKE) --no-print-directory e2e-web

# e2e-web runs the console's tests on the console already built (make test
# builds it once, before the Go tests that check the embedded export).
.PHONY: e2e-web
e2e-web:
	cd web && bash e2e/ensure-chromium.sh >/dev/null && npm test

# Lambda binaries: no net/rpc (lambda.norpc) and no JavaScript engine in the
# functions themselves (turbocat_nojs): the steprunner runs code agents in
# dist/steprunner/codeworker (cmd/codeworker) beside it.
ARCH        ?= arm64
LAMBDA_TAGS := lambda.norpc,turbocat_nojs
# The SDKs (AWS, and the model providers' generated ones the steprunner
# links) are compiled without inlining: I/O-bound clients, 2.4 MiB less
# steprunner. bench/lambda.sh and internal/lambdafn's emulator test build
# with the same flags.
LAMBDA_GCFLAGS := -gcflags='github.com/openai/openai-go/v3/...=-l' -gcflags='github.com/anthropics/anthropic-sdk-go/v2/...=-l' -gcflags='github.com/aws/...=-l'
CODEWORKER_FUNCTIONS := steprunner

.PHONY: build
build: web functions ## Build the console and every functions/* for provided.al2023 (ARCH=arm64|amd64, default arm64) into dist/<name>/.

.PHONY: functions
functions: ## Build only the functions (ARCH=arm64|amd64) into dist/<name>/bootstrap (+ codeworker).
	@case "$(ARCH)" in arm64|amd64) ;; *) echo "ARCH=$(ARCH): must be arm64 or amd64" >&2; exit 2;; esac
	@for f in $(FUNCTIONS); do \
	  echo "build $$f ($(ARCH))"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$(ARCH) $(GO) build -tags $(LAMBDA_TAGS) $(LAMBDA_GCFLAGS) -trimpath -ldflags='-s -w' -o dist/$$f/bootstrap ./functions/$$f || exit 1; \
	done
	@for f in $(CODEWORKER_FUNCTIONS); do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$(ARCH) $(GO) build -trimpath -ldflags='-s -w' -o dist/$$f/codeworker ./cmd/codeworker || exit 1; \
	done
	@echo $(ARCH) > dist/ARCH

$(ASLVALIDATOR): tools/aslvalidator/package.json tools/aslvalidator/package-lock.json
	npm ci --prefix tools/aslvalidator --no-audit --no-fund
	@touch $@

.PHONY: aslvalidate
aslvalidate: $(ASLVALIDATOR) ## Validate compiled state machines (golden files and statemachines/) with asl-validator 4.0.0.
	bash tools/aslvalidator/validate.sh

.PHONY: conformance
conformance: ## Regenerate the runtime's conformance expectations with aws-local-stepfunctions (Node 20+), then check them.
	cd internal/runtime/testdata/reference && npm ci --no-audit --no-fund && node generate.mjs
	$(GO) test -count=1 -run TestConformance ./internal/runtime/

.PHONY: bench-runtime
bench-runtime: ## Compare the local Step Functions runtime with aws-local-stepfunctions (bench/runtime/run.sh).
	bash bench/runtime/run.sh

.PHONY: bench-executor
bench-executor: ## Executor benchmarks: warm code-agent run, template rendering, scrubbing.
	bash bench/executor/run.sh

DOCKER_CHECK = command -v docker >/dev/null && docker info >/dev/null 2>&1 || { echo "$@: Docker is not available on this machine; LocalStack needs a Docker engine (see localstack/README.md)" >&2; exit 2; }
TOKEN_CHECK = [ -n "$$LOCALSTACK_AUTH_TOKEN" ] || { echo "$@: LOCALSTACK_AUTH_TOKEN is not set: current LocalStack images start only with an auth token (app.localstack.cloud → Auth Token; API Gateway v2 and CloudFront need a paid plan, see localstack/README.md)" >&2; exit 2; }

.PHONY: localstack-up
localstack-up: ## Start LocalStack and its Postgres (needs Docker and LOCALSTACK_AUTH_TOKEN).
	@$(DOCKER_CHECK)
	@$(TOKEN_CHECK)
	docker compose -f localstack/docker-compose.yml up -d --wait

.PHONY: localstack-deploy
localstack-deploy: $(CDK) ## Deploy the CDK app to LocalStack with cdklocal (needs Docker; ARCH defaults to the host's); prints the API URL.
	@$(DOCKER_CHECK)
	ARCH=$(LOCALSTACK_ARCH) bash localstack/deploy.sh

.PHONY: test-localstack
test-localstack: ## Engine conformance suite (Task states on LocalStack's Lambda) and the end-to-end scenario against LocalStack (needs Docker; TURBOCAT_E2E_URL from localstack-deploy).
	@$(DOCKER_CHECK)
	@[ -n "$$TURBOCAT_E2E_URL" ] || { echo "$@: TURBOCAT_E2E_URL is not set: make localstack-deploy prints the API URL to set it to" >&2; exit 2; }
	LOCALSTACK_ENDPOINT=$(or $(LOCALSTACK_ENDPOINT),http://localhost:4566) $(GO) test -count=1 -run TestConformanceLocalStack -v ./internal/sfn/
	$(GO) test -count=1 -run TestDeployedStack -v ./internal/e2e/

.PHONY: bench-compile
bench-compile: ## Benchmark the DAG scheduler and compiling 1,000-step workflows.
	$(GO) test -run '^$$' -bench 'Compile1000|Schedule1000' -benchmem ./internal/compiler/ ./internal/dag/

# LocalStack runs functions in containers of the host's architecture.
LOCALSTACK_ARCH ?= $(if $(filter aarch64 arm64,$(shell uname -m)),arm64,amd64)

# ---- AWS: the CDK app in infra/ (its own Go module) ----
STAGE     ?= dev
CDK_FLAGS ?=
CDK       := infra/node_modules/.bin/cdk
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

$(CDK): infra/package.json infra/package-lock.json
	npm ci --prefix infra --no-audit --no-fund
	@touch $@

.PHONY: synth
synth: build $(CDK) ## Synthesize STAGE's CloudFormation templates into cdk.out (cdk-nag applied).
	$(CDK) synth --quiet -c stage=$(STAGE) -c architecture=$(ARCH) $(CDK_FLAGS)

.PHONY: diff
diff: build $(CDK) ## Show what deploying STAGE would change (needs AWS credentials).
	$(CDK) diff -c stage=$(STAGE) -c architecture=$(ARCH) $(CDK_FLAGS)

.PHONY: deploy
deploy: build $(CDK) ## Deploy STAGE=... to AWS (needs AWS credentials; see infra/README.md).
	$(CDK) deploy --all --require-approval never -c stage=$(STAGE) -c architecture=$(ARCH) -c deployNonce=$$(date -u +%Y%m%dT%H%M%SZ) $(CDK_FLAGS)

.PHONY: destroy
destroy: build $(CDK) ## Delete STAGE's stacks (prod keeps its database, secrets and key).
	$(CDK) destroy --all --force -c stage=$(STAGE) -c architecture=$(ARCH) $(CDK_FLAGS)

.PHONY: cdk-bootstrap
cdk-bootstrap: $(CDK) ## Prepare the AWS account and region for CDK deployments (once).
	$(CDK) bootstrap

.PHONY: test-infra
test-infra: $(CDK) ## Vet and test the CDK app (assertions, cdk-nag; needs Node); writes infra/coverage.out.
	@cd infra && out=$$(gofmt -l main.go internal routes settings stacks); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	cd infra && $(GO) vet ./... && $(GO) test $(GOTEST_FLAGS) -coverpkg=./... -coverprofile=coverage.out ./...
	@cd infra && $(GO) tool cover -func=coverage.out | tail -n 1 | sed 's/^total:/infra total:/'
