#!/usr/bin/env bash
# Runs the same generated state machines (linear chains of 1/40/400 no-op
# tasks, a 10-branch Parallel, a 100-item Map) on Turbocat's runtime (in
# memory, Go benchmark) and on aws-local-stepfunctions (Node), alternating
# ROUNDS times so both see the same machine load, and prints the median
# per-execution and per-state overhead of each and the ratio.
#   per-execution overhead = time of the 1-task chain
#   per-state overhead     = (time of the 400-task chain - 1-task chain) / 399
# It also runs a 2,000-state chain of Pass states as an EXPRESS machine with
# StartSyncExecution through Turbocat's Step Functions endpoint (an
# aws-sdk-go-v2 client, SigV4-signed, over loopback HTTP) beside the same
# chain on aws-local-stepfunctions (in process, no HTTP), and prints the
# time per Pass state of each against the 1.5 µs target.
# Usage: bench/runtime/run.sh   (ROUNDS=5 SECS=2 by default)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
ROUNDS="${ROUNDS:-5}"
SECS="${SECS:-2}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

if [ ! -d "$here/node_modules/aws-local-stepfunctions" ]; then
  (cd "$here" && npm ci --no-audit --no-fund >/dev/null)
fi
(cd "$root" && go test -c -o "$out/runtime.test" ./internal/runtime/)
(cd "$root" && go test -c -o "$out/sfnapi.test" ./internal/runtime/sfnapi/)

for r in $(seq 1 "$ROUNDS"); do
  echo "round $r/$ROUNDS" >&2
  "$out/runtime.test" -test.run '^$' -test.bench . -test.benchtime "${SECS}s" |
    awk -v round="$r" '
      /^Benchmark/ {
        name=$1; sub(/-[0-9]+$/, "", name)
        m = name == "BenchmarkChain/tasks=1" ? "chain-1" : name == "BenchmarkChain/tasks=40" ? "chain-40" : name == "BenchmarkChain/tasks=400" ? "chain-400" : name == "BenchmarkParallel" ? "parallel-10" : name == "BenchmarkMap" ? "map-100" : ""
        if (m != "") printf "{\"impl\":\"turbocat\",\"round\":%d,\"machine\":\"%s\",\"ns_per_exec\":%s}\n", round, m, $3
      }' >>"$out/results.jsonl"
  "$out/sfnapi.test" -test.run '^$' -test.bench 'SyncExpressPassChain' -test.benchtime "${SECS}s" |
    awk -v round="$r" '
      /^BenchmarkSyncExpressPassChain\/states=/ {
        n=$1; sub(/^.*states=/, "", n); sub(/-[0-9]+$/, "", n)
        printf "{\"impl\":\"turbocat\",\"round\":%d,\"machine\":\"pass-%s\",\"ns_per_exec\":%s}\n", round, n, $3
      }' >>"$out/results.jsonl"
  (cd "$here" && node bench.mjs "$SECS") |
    sed "s/^{/{\"impl\":\"reference\",\"round\":$r,/" >>"$out/results.jsonl"
done
node "$here/compare.mjs" "$out/results.jsonl"
