#!/usr/bin/env bash
# bench/hooks.sh — webhook → one-step run → persisted, under load.
#
# Starts `turbocat dev` on a scratch database, deploys a one-step workflow
# of a do-nothing code agent, then sends signed webhook calls (each its own
# body and signature) from CONNS connections for SECS seconds, and prints
# runs/s, the webhook call's p50/p99, the time until each run is persisted
# as completed (p50/p99), peak RSS of every Turbocat process and database
# round trips per run. Targets (issue 19): >= 2,000 runs/s at 16
# connections, p99 <= 50 ms, total RSS <= 150 MB.
#
# SHAPE=parallel5 instead runs a 5-step workflow (a, then b, c and d in
# parallel, then e) through POST /execute?wait from CONNS connections, each
# call answered when its run ends (issue 19: >= 300 runs/s at 16).
#
# TURBOCAT_BIN runs a binary built elsewhere (see bench/lib.sh): alternate
# it with this tree's build to compare on a noisy machine.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-16}
SECS=${SECS:-15}
PORT=${BENCH_PORT:-3097}
DB=turbocat_bench_hooks

source bench/lib.sh
trap 'kill ${DEV_PID:-} 2>/dev/null || true' EXIT
start_dev "$DB" "$PORT" /tmp/turbocat-bench-hooks.log
go run ./bench/hooks -port "$PORT" -c "$CONNS" -d "${SECS}s" -pid "$DEV_PID" -db "$DB" -shape "${SHAPE:-webhook}"
