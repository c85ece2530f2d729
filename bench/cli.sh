#!/usr/bin/env bash
# bench/cli.sh — how long workflows-as-code takes at account scale.
#
# Starts `turbocat dev` on a scratch database and generates a repository of
# AGENTS code agents and WORKFLOWS workflows (5 steps each, two of them in
# parallel) with a deployment each, then times, through the real binary:
# the offline validate, the first apply (everything created), and RUNS no-op
# plans (the server already matches), reporting medians.
set -euo pipefail
cd "$(dirname "$0")/.."

AGENTS=${AGENTS:-100}
WORKFLOWS=${WORKFLOWS:-50}
RUNS=${RUNS:-10}
PORT=${BENCH_PORT:-3097}
DB=turbocat_bench_cli

source bench/lib.sh
repo=$(mktemp -d)
trap 'kill ${DEV_PID:-} 2>/dev/null || true; rm -rf "$repo"' EXIT
start_dev "$DB" "$PORT" /tmp/turbocat-bench-cli.log
bin=${TURBOCAT_BIN:-bin/turbocat}

api=http://127.0.0.1:$PORT/api/v1
token=$(curl -fs "$api/auth/register" -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.com","password":"correct horse battery"}' | sed -E 's/.*"accessToken":"([^"]+)".*/\1/')
scopes='["agents:read","agents:write","workflows:read","workflows:write","deployments:read","deployments:write","secrets:read"]'
key=$(curl -fs "$api/api-keys" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d "{\"name\":\"bench\",\"scopes\":$scopes}" | sed -E 's/.*"key":"([^"]+)".*/\1/')
export TURBOCAT_API_URL=http://127.0.0.1:$PORT TURBOCAT_API_KEY=$key XDG_CONFIG_HOME=$repo/config

mkdir -p "$repo/files"
for i in $(seq 1 "$AGENTS"); do
  printf 'kind: Agent\nname: agent-%d\ntype: code\nconfig:\n  source: |\n    function main(input) { return {n: %d}; }\n---\n' "$i" "$i"
done > "$repo/files/agents.yaml"
for w in $(seq 1 "$WORKFLOWS"); do
  a() { echo "agent-$(( (w + $1) % AGENTS + 1 ))"; }
  cat > "$repo/files/workflow-$w.yaml" <<YAML
kind: Workflow
name: workflow-$w
steps:
  - {key: fetch, agent: $(a 0), inputs: {url: "{{inputs.url}}"}}
  - {key: left, agent: $(a 1), dependsOn: [fetch], inputs: {v: "{{steps.fetch.output.n}}"}}
  - {key: right, agent: $(a 2), dependsOn: [fetch], inputs: {v: "{{steps.fetch.output.n}}"}}
  - {key: join, agent: $(a 3), dependsOn: [left, right]}
  - {key: report, agent: $(a 4), dependsOn: [join]}
---
kind: Deployment
workflow: workflow-$w
environment: staging
YAML
done

# ms CMD...: the wall time of CMD in milliseconds; exit codes other than 0
# and 2 (plan: changes) stop the benchmark.
ms() {
  local s e code=0
  s=$(date +%s%N)
  "$@" >/tmp/turbocat-bench-cli.out 2>&1 || code=$?
  e=$(date +%s%N)
  if [ "$code" -ne 0 ] && [ "$code" -ne 2 ]; then
    echo "bench: $* exited $code:" >&2; tail -5 /tmp/turbocat-bench-cli.out >&2; exit 1
  fi
  echo $(( (e - s) / 1000000 ))
}
median() { sort -n | awk '{ t[NR] = $1 } END { print (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2 }'; }

ms "$bin" validate -f "$repo/files" >/dev/null # fails loudly on a broken repository
validate=$(for _ in $(seq 1 "$RUNS"); do ms "$bin" validate -f "$repo/files"; done | median)
apply=$(ms "$bin" apply -f "$repo/files")
"$bin" plan -f "$repo/files" >/dev/null || { echo "the plan after apply is not empty"; "$bin" plan -f "$repo/files" | tail -5; exit 1; }
plan=$(for _ in $(seq 1 "$RUNS"); do ms "$bin" plan -f "$repo/files"; done | median)
echo "agents=$AGENTS workflows=$WORKFLOWS deployments=$WORKFLOWS validate_median_ms=$validate first_apply_ms=$apply noop_plan_median_ms=$plan"
