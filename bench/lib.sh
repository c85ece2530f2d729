# bench/lib.sh — shared by the bench scripts; source it from the repository
# root.

# start_dev DB PORT LOG: a fresh database DB and `turbocat dev` on PORT
# (its standard error in LOG) with rate limits lifted, ready when this
# returns. Sets DEV_PID; the caller stops it (trap). TURBOCAT_BIN runs a
# binary built elsewhere instead of building this tree (to compare two
# builds side by side, alternating runs on a noisy machine).
start_dev() {
  local db=$1 port=$2 log=$3
  bash scripts/ensure-postgres.sh >/dev/null
  psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $db" >/dev/null
  psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $db" >/dev/null
  local bin=${TURBOCAT_BIN:-}
  if [ -z "$bin" ]; then
    go build -o bin/turbocat ./cmd/turbocat
    bin=bin/turbocat
  fi
  DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable" PORT=$port \
    TURBOCAT_JWT_SECRET="bench-secret-bench-secret-bench-secret-0" TURBOCAT_LOG_LEVEL=warn \
    TURBOCAT_SFN_ADDR=127.0.0.1:0 TURBOCAT_SECRETS_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY= \
    TURBOCAT_RATE_LIMIT=1000000 TURBOCAT_RATE_BURST=1000000 TURBOCAT_IP_RATE_LIMIT=1000000 TURBOCAT_AUTH_RATE_LIMIT=1000000 \
    "$bin" dev 2>"$log" &
  DEV_PID=$!
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "bench: turbocat dev did not start on :$port; see $log" >&2
  return 1
}
