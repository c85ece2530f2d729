#!/usr/bin/env bash
# bench/lambda.sh — size and cold start of every Lambda function.
#
# Builds every functions/<name> for this host (as `make functions` builds
# them for Lambda: same tags and flags, host GOARCH), starts each under the
# AWS Lambda Runtime Interface Emulator (bin/aws-lambda-rie, bound to
# 127.0.0.1) RUNS times, invokes it once, and reads the emulator's
# "INIT REPORT (durationMs: …)": the time from starting the bootstrap to its
# first request for work (package initialization, configuration, wiring,
# connecting to Postgres). Prints each function's size and median INIT.
#
# BASE=<git ref> (e.g. BASE=main) builds that revision too, from `git
# archive` into a scratch directory (no worktree is touched), and runs the
# two builds alternately, so both see the same noise; the table shows them
# side by side.
#
# Targets: every function <= 20 MB and INIT <= 25 ms, except the steprunner
# (<= 40 MB; its code worker, dist/steprunner/codeworker, is listed apart).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-6}
BASE=${BASE:-}
RIE=${RIE:-bin/aws-lambda-rie}
DB=turbocat_bench_lambda
PORT=${BENCH_PORT:-18410}    # emulator; PORT+1 is its Runtime API
GO=${GO:-go}

[ -x "$RIE" ] || { echo "bench-lambda: $RIE is missing: run make bench-lambda (it installs the emulator)" >&2; exit 2; }
bash scripts/ensure-postgres.sh >/dev/null
psql -h 127.0.0.1 -U postgres -d postgres -qtc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 ||
  psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $DB" >/dev/null

work=$(mktemp -d /tmp/turbocat-bench-lambda.XXXXXX)
rie_pid=
cleanup() {
  [ -n "$rie_pid" ] && kill "$rie_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# As make functions builds them (LAMBDA_TAGS, LAMBDA_GCFLAGS).
gcflags=(-gcflags='github.com/openai/openai-go/v3/...=-l' -gcflags='github.com/anthropics/anthropic-sdk-go/v2/...=-l' -gcflags='github.com/aws/...=-l')

# build SRC OUT [FLAGS...]: every function of the tree at SRC into
# OUT/<name>/, with the build flags given (the tree's own).
build() {
  local src=$1 out=$2 f
  shift 2
  for d in "$src"/functions/*/; do
    f=$(basename "$d")
    [ -f "$d/main.go" ] || continue
    (cd "$src" && CGO_ENABLED=0 $GO build "$@" -trimpath -ldflags='-s -w' -o "$out/$f/bootstrap" "./functions/$f")
  done
  if [ -f "$src/cmd/codeworker/main.go" ]; then
    (cd "$src" && CGO_ENABLED=0 $GO build -trimpath -ldflags='-s -w' -o "$out/steprunner/codeworker" ./cmd/codeworker)
  fi
}

variants=(new)
echo "bench-lambda: building this tree for $($GO env GOARCH)" >&2
build "$PWD" "$work/new" -tags lambda.norpc,turbocat_nojs "${gcflags[@]}"
if [ -n "$BASE" ]; then
  echo "bench-lambda: building $BASE ($(git rev-parse --short "$BASE"))" >&2
  mkdir -p "$work/base-src"
  git archive "$BASE" | tar -x -C "$work/base-src"
  # As that revision's make build built them, when it has no LAMBDA_GCFLAGS.
  if grep -q '^LAMBDA_GCFLAGS' "$work/base-src/Makefile"; then
    build "$work/base-src" "$work/base" -tags lambda.norpc,turbocat_nojs "${gcflags[@]}"
  else
    build "$work/base-src" "$work/base" -tags lambda.norpc
  fi
  variants=(base new)
fi
functions=$(ls "$work/new")

# The same environment for every function and build: local secrets by
# value (no Secrets Manager call), every AWS component configured (clients
# are created at start, no AWS call is made), no X-Ray daemon.
export AWS_REGION=eu-west-1 AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_XRAY_DAEMON_ADDRESS=127.0.0.1:2000
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
export TURBOCAT_JWT_SECRET=bench-secret-bench-secret-bench-secret-0 TURBOCAT_SECRETS_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=
export TURBOCAT_STAGE=bench TURBOCAT_ENGINE=sfn TURBOCAT_STATE_MACHINE_PREFIX=turbocat-bench_
export TURBOCAT_STEPRUNNER_ARN=arn:aws:lambda:eu-west-1:123456789012:function:turbocat-bench-steprunner:1
export TURBOCAT_SFN_ROLE_ARN=arn:aws:iam::123456789012:role/turbocat-bench-sfn
export TURBOCAT_EVENT_BUS_NAME=turbocat-bench TURBOCAT_SCHEDULER_GROUP=turbocat-bench
export TURBOCAT_SCHEDULER_ROLE_ARN=arn:aws:iam::123456789012:role/turbocat-bench-scheduler
export TURBOCAT_TRIGGER_ARN=arn:aws:lambda:eu-west-1:123456789012:function:turbocat-bench-trigger
export TURBOCAT_SCHEDULER_DLQ_ARN=arn:aws:sqs:eu-west-1:123456789012:turbocat-bench-scheduler-dlq

# init_ms BINARY NAME: start BINARY under the emulator, invoke it once,
# print the INIT duration in ms.
init_ms() {
  local bin=$1 name=$2 log=$work/rie.log event='{}'
  case $name in auth | agents | apikeys | templates | workflows | executions | deployments | trigger) event=@events/apigw/auth/health.json ;; esac
  AWS_LAMBDA_FUNCTION_NAME=turbocat-bench-$name "$RIE" --log-level info \
    --runtime-interface-emulator-address "127.0.0.1:$PORT" --runtime-api-address "127.0.0.1:$((PORT + 1))" "$bin" >"$log" 2>&1 &
  rie_pid=$!
  for _ in $(seq 1 200); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
    sleep 0.02
  done
  curl -s -o /dev/null -X POST "http://127.0.0.1:$PORT/2015-03-31/functions/function/invocations" -d "$event" || true
  kill "$rie_pid" 2>/dev/null || true
  wait "$rie_pid" 2>/dev/null || true
  rie_pid=
  local ms
  ms=$(sed -nE 's/.*INIT REPORT\(durationMs: ([0-9.]+)\).*/\1/p' "$log" | head -n 1)
  if [ -z "$ms" ] || grep -q "INIT RTDONE(status: error)\|Runtime.ExitError" "$log"; then
    echo "bench-lambda: $name did not start; the emulator's log:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  echo "$ms"
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }
mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN {printf "%.1f", b/1048576}'; } # MiB

declare -A samples
for run in $(seq 1 "$RUNS"); do
  echo "bench-lambda: run $run/$RUNS" >&2
  for f in $functions; do
    for v in "${variants[@]}"; do
      [ -f "$work/$v/$f/bootstrap" ] || continue
      samples[$v.$f]+="$(init_ms "$work/$v/$f/bootstrap" "$f") "
    done
  done
done

fail=0
echo
echo "Lambda functions under the Runtime Interface Emulator ($(go env GOOS)/$(go env GOARCH), median of $RUNS cold starts)"
if [ -n "$BASE" ]; then
  printf '%-12s %12s %12s %14s %14s\n' function "MiB $BASE" "MiB now" "INIT $BASE" "INIT now"
else
  printf '%-12s %12s %14s\n' function MiB INIT
fi
for f in $functions; do
  new_size=$(mb "$work/new/$f/bootstrap")
  new_init=$(echo "${samples[new.$f]}" | tr ' ' '\n' | grep . | median)
  max_size=20
  [ "$f" = steprunner ] && max_size=40
  mark=""
  awk -v s="$new_size" -v m="$max_size" 'BEGIN {exit !(s > m)}' && mark+=" size>${max_size}MB"
  awk -v i="$new_init" 'BEGIN {exit !(i > 25)}' && mark+=" INIT>25ms"
  [ -n "$mark" ] && fail=1
  if [ -n "$BASE" ]; then
    base_size=- base_init=-
    if [ -f "$work/base/$f/bootstrap" ]; then
      base_size="$(mb "$work/base/$f/bootstrap")"
      base_init="$(echo "${samples[base.$f]}" | tr ' ' '\n' | grep . | median) ms"
    fi
    printf '%-12s %12s %12s %14s %14s%s\n' "$f" "$base_size" "$new_size" "$base_init" "$new_init ms" "$mark"
  else
    printf '%-12s %12s %14s%s\n' "$f" "$new_size" "$new_init ms" "$mark"
  fi
done
for f in steprunner; do
  [ -f "$work/new/$f/codeworker" ] && printf '%-12s %12s  (code worker, started on the first code agent run)\n' "$f/codeworker" "$(mb "$work/new/$f/codeworker")"
done
if [ "$fail" = 1 ]; then
  echo "bench-lambda: some functions miss the targets (size <= 20 MB, steprunner <= 40 MB; INIT <= 25 ms)"
fi
