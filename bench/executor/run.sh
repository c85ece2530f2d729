#!/usr/bin/env bash
# Measures the executor overheads with Go benchmarks:
#   - warm per-run overhead of a trivial code agent (target <= 1 ms/op),
#     serial and with concurrent callers over a 2-worker pool;
#   - template rendering and secret scrubbing of a typical step payload.
# Usage: bench/executor/run.sh [count]   (default count 5)
set -euo pipefail
cd "$(dirname "$0")/../.."
count="${1:-5}"
go test -run '^$' -bench 'BenchmarkWarmRun' -benchtime 5000x -count "$count" ./internal/executor/codeexec/
go test -run '^$' -bench . -benchmem -count "$count" ./internal/tmpl/ ./internal/secrets/
go test -run '^$' -bench 'BenchmarkColdRun' -benchtime 20x -count "$count" ./internal/executor/codeexec/
