# Turbocat's interface: every command the README shows is a target here.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO          ?= go
BIN         := $(CURDIR)/bin
SQLC        := $(BIN)/sqlc
SQLC_VERSION := v1.31.1
PORT        ?= 3001
DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/turbocat?sslmode=disable
export TURBOCAT_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/turbocat_test?sslmode=disable
FUNCTIONS   := $(notdir $(wildcard functions/*))
GOTEST_FLAGS ?= -count=1 -timeout 12m

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: db
db: ## Start the local Postgres if needed and create the turbocat databases.
	@bash scripts/ensure-postgres.sh turbocat turbocat_test

.PHONY: dev
dev: db ## Run Turbocat locally (API on :$(PORT), migrations applied).
	@set -a; source "$$(bash scripts/dev-env.sh)"; set +a; \
	  DATABASE_URL="$(DATABASE_URL)" PORT="$(PORT)" $(GO) run ./cmd/turbocat dev

.PHONY: migrate
migrate: db ## Apply database migrations to DATABASE_URL.
	DATABASE_URL="$(DATABASE_URL)" $(GO) run ./cmd/turbocat migrate

.PHONY: test
test: db ## Run every test against the local Postgres (writes coverage.out), then each fuzz target briefly.
	$(GO) test $(GOTEST_FLAGS) -coverprofile=coverage.out -covermode=atomic ./...
	@$(GO) tool cover -func=coverage.out | tail -n 1
	@FUZZTIME=3s bash scripts/fuzz.sh

.PHONY: fuzz
fuzz: db ## Run every fuzz target for FUZZTIME (default 2m).
	FUZZTIME=$(or $(FUZZTIME),2m) bash scripts/fuzz.sh

.PHONY: bench
bench: db ## Go benchmarks of the hot paths (JWT, API keys, ...).
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

.PHONY: bench-api
bench-api: db ## Load GET /workflows/{id} beside pgbench running the same SQL (bench/api.sh).
	bash bench/api.sh

$(SQLC):
	CGO_ENABLED=0 GOBIN=$(BIN) $(GO) install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)

.PHONY: generate
generate: $(SQLC) ## Regenerate sqlc code and compiled state machines.
	$(SQLC) generate

.PHONY: verify
verify: generate ## Regenerate everything generated and fail on any drift.
	@git add -N . >/dev/null 2>&1 || true
	@if ! git diff --exit-code --stat -- internal/postgres/dbsqlc statemachines; then \
	  echo "verify: generated files drifted; run 'make generate' and commit the result" >&2; exit 1; fi

.PHONY: lint
lint: ## gofmt, go vet.
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^infra/')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

.PHONY: build
build: ## Build every functions/* as a linux/arm64 bootstrap in dist/<name>/.
	@for f in $(FUNCTIONS); do \
	  echo "build $$f"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o dist/$$f/bootstrap ./functions/$$f || exit 1; \
	done
