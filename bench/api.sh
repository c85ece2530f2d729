#!/usr/bin/env bash
# bench/api.sh — how close does the API get to Postgres itself?
#
# Starts `turbocat dev` on a scratch database, creates a user, an agent and a
# workflow, then loads GET /api/v1/workflows/{id} with a valid JWT using wrk,
# and runs pgbench with the same SQL the API runs for that request (the user
# lookup of the auth middleware and the workflow read) over the same
# transport (TCP to 127.0.0.1, prepared statements as pgx uses) at the same
# concurrency. Prints req/s, p50, p99 and the ratio API req/s ÷ pgbench tps.
# Targets at 8 connections: ratio ≥ 0.35, p99 ≤ 5 ms.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-8}
DURATION=${DURATION:-10}
PORT=${BENCH_PORT:-3099}
DB=turbocat_bench

if ! command -v wrk >/dev/null 2>&1; then
  echo "bench: installing wrk (Debian package)" >&2
  apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null
fi
command -v pgbench >/dev/null || { echo "bench: pgbench is missing (Debian: postgresql-contrib or postgresql-15)" >&2; exit 1; }

bash scripts/ensure-postgres.sh "$DB" >/dev/null
go build -o bin/turbocat ./cmd/turbocat

export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
export PORT TURBOCAT_JWT_SECRET="bench-secret-bench-secret-bench-secret-0"
export TURBOCAT_SFN_ADDR=127.0.0.1:0
export TURBOCAT_RATE_LIMIT=1000000 TURBOCAT_RATE_BURST=1000000 TURBOCAT_IP_RATE_LIMIT=1000000 TURBOCAT_AUTH_RATE_LIMIT=1000000
export TURBOCAT_LOG_FORMAT=json
bin/turbocat dev 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.2; done

api=http://127.0.0.1:$PORT/api/v1
field() { sed -E "s/.*\"$1\":\"([^\"]+)\".*/\1/"; }
email="bench-$(date +%s%N)@example.com"
token=$(curl -fs "$api/auth/register" -H 'Content-Type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"correct horse battery\",\"fullName\":\"Bench\"}" | field accessToken)
agent=$(curl -fs "$api/agents" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d "{\"name\":\"echo-$RANDOM$RANDOM\",\"type\":\"code\",\"config\":{\"source\":\"function main(i){return i}\"}}" | field id | head -c 36)
wf=$(curl -fs "$api/workflows" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d "{\"name\":\"bench-$RANDOM$RANDOM\",\"steps\":[{\"key\":\"a\",\"agentId\":\"$agent\"},{\"key\":\"b\",\"agentId\":\"$agent\",\"dependsOn\":[\"a\"]},{\"key\":\"c\",\"agentId\":\"$agent\",\"dependsOn\":[\"a\"]}]}" | field id | head -c 36)
uid=$(psql -h 127.0.0.1 -U postgres -d "$DB" -tAc "SELECT id FROM users WHERE email = '$email'")
curl -fs "$api/workflows/$wf" -H "Authorization: Bearer $token" >/dev/null

echo "== API: GET /api/v1/workflows/{id}, $CONNS connections, ${DURATION}s"
wrk_out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -H "Authorization: Bearer $token" "$api/workflows/$wf")
echo "$wrk_out" | grep -E "Requests/sec|Non-2xx| 50%| 99%" || true
api_rps=$(echo "$wrk_out" | awk '/Requests\/sec/ {print $2}')
p50=$(echo "$wrk_out" | awk '$1 == "50%" {print $2}')
p99=$(echo "$wrk_out" | awk '$1 == "99%" {print $2}')

sql=$(mktemp)
cat > "$sql" <<'SQL'
SELECT id, email, password_hash, full_name, role, created_at, updated_at FROM users WHERE id = :uid;
SELECT id, user_id, name, description, definition, schedule, version, created_at, updated_at FROM workflows WHERE id = :wid AND user_id = :uid;
SQL
echo "== pgbench: the same SQL, $CONNS clients, ${DURATION}s, prepared"
pg_out=$(pgbench -h 127.0.0.1 -U postgres -n -M prepared -c "$CONNS" -j 2 -T "$DURATION" -D uid="$uid" -D wid="$wf" -f "$sql" "$DB" 2>&1)
rm -f "$sql"
echo "$pg_out" | grep -E "^tps|latency average" || { echo "$pg_out"; exit 1; }
tps=$(echo "$pg_out" | awk -F'= ' '/^tps/ {split($2, a, " "); print a[1]}')

echo "== result"
awk -v r="$api_rps" -v t="$tps" -v p50="$p50" -v p99="$p99" -v c="$CONNS" 'BEGIN {
  printf "connections=%d api_req_per_s=%.0f api_p50=%s api_p99=%s pgbench_tps=%.0f ratio=%.2f (target >= 0.35, p99 <= 5ms)\n", c, r, p50, p99, t, r / t }'
