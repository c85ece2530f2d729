#!/usr/bin/env bash
# bench/engine.sh — the "40 lightweight tasks" test.
#
# Starts `turbocat dev` on a scratch database, creates a code agent that does
# nothing (returns {}) and a 40-step sequential workflow of it, then runs the
# workflow RUNS times through the API (POST /workflows/{id}/execute?wait=25)
# and reports the median wall time, the overhead per step, and the database
# round trips per step (from turbocat_db_queries_total on /metrics).
# Published peers on this test: Hatchet 31 ms/task, Windmill 52, Temporal 74.
# Target: <= 1 ms per step.
#
# TURBOCAT_BIN runs a binary built elsewhere (see bench/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-20}
STEPS=${STEPS:-40}
PORT=${BENCH_PORT:-3098}
DB=turbocat_bench_engine

source bench/lib.sh
trap 'kill ${DEV_PID:-} 2>/dev/null || true' EXIT
start_dev "$DB" "$PORT" /tmp/turbocat-bench-engine.log

api=http://127.0.0.1:$PORT/api/v1
field() { sed -E "s/.*\"$1\":\"([^\"]+)\".*/\1/"; }
token=$(curl -fs "$api/auth/register" -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.com","password":"correct horse battery","fullName":"Bench"}' | field accessToken)
auth=(-H "Authorization: Bearer $token" -H 'Content-Type: application/json')
agent=$(curl -fs "$api/agents" "${auth[@]}" -d '{"name":"noop","type":"code","config":{"source":"function main(input) { return {}; }"}}' | field id | head -c 36)
steps="{\"key\":\"s1\",\"agentId\":\"$agent\"}"
for i in $(seq 2 "$STEPS"); do steps="$steps,{\"key\":\"s$i\",\"agentId\":\"$agent\",\"dependsOn\":[\"s$((i-1))\"]}"; done
wf=$(curl -fs "$api/workflows" "${auth[@]}" -d "{\"name\":\"forty\",\"steps\":[$steps]}" | field id | head -c 36)

queries() { curl -fs "http://127.0.0.1:$PORT/metrics" | awk '/^turbocat_db_queries_total/ {print $2}'; }
byName() { curl -fs "http://127.0.0.1:$PORT/metrics" | sed -nE 's/^turbocat_db_queries_by_name_total\{query="([^"]+)"\} ([0-9]+)$/\1 \2/p'; }
run() { curl -fs -o /tmp/turbocat-bench-run.json -w '%{time_total}' -X POST "$api/workflows/$wf/execute?wait=25" "${auth[@]}" -d '{}'; }

run >/dev/null # warm-up: publishes the version, starts the code workers
grep -q '"status":"completed"' /tmp/turbocat-bench-run.json || { echo "warm-up run did not complete:"; cat /tmp/turbocat-bench-run.json; exit 1; }
q0=$(queries)
byName >/tmp/turbocat-bench-engine.q0
times=()
for _ in $(seq 1 "$RUNS"); do
  t=$(run)
  grep -q '"status":"completed"' /tmp/turbocat-bench-run.json || { echo "run did not complete:"; cat /tmp/turbocat-bench-run.json; exit 1; }
  times+=("$t")
done
q1=$(queries)
byName >/tmp/turbocat-bench-engine.q1

printf '%s\n' "${times[@]}" | sort -n | awk -v steps="$STEPS" -v runs="$RUNS" -v q="$((q1 - q0))" '
  { t[NR] = $1 * 1000 }
  END {
    n = NR; med = (n % 2) ? t[(n + 1) / 2] : (t[n / 2] + t[n / 2 + 1]) / 2
    printf "runs=%d steps=%d median_ms=%.1f min_ms=%.1f max_ms=%.1f per_step_ms=%.3f db_round_trips_per_step=%.1f\n",
      runs, steps, med, t[1], t[n], med / steps, q / (runs * steps)
  }'
# Where the round trips go: per step, by statement (sqlc query name, or the
# first keyword), largest first.
awk -v n="$((RUNS * STEPS))" 'NR == FNR { a[$1] = $2; next } { d = $2 - a[$1]; if (d > 0) printf "%s=%.2f\n", $1, d / n }' \
  /tmp/turbocat-bench-engine.q0 /tmp/turbocat-bench-engine.q1 | sort -t= -k2 -rn | tr '\n' ' ' | sed 's/^/round trips per step by statement: /; s/ $/\n/'
