#!/usr/bin/env bash
# bench/pgcpu.sh — where Postgres's share of a webhook run goes: runs
# bench/hooks.sh (CONNS=2, SECS=3 unless set; SHAPE as there) with every
# statement and its server CPU logged (log_min_duration_statement=0 and
# log_statement_stats=on, through PGOPTIONS for Turbocat's connections
# only), then prints each statement's runs, CPU and elapsed time per run
# (bench/pgcpu). Needs the server log readable: PG_LOG, by default
# Debian's /var/log/postgresql/postgresql-15-main.log. Logging costs CPU
# too: compare statements with one another, not with other benches.
set -euo pipefail
cd "$(dirname "$0")/.."

log=${PG_LOG:-/var/log/postgresql/postgresql-15-main.log}
if [ ! -r "$log" ]; then
  echo "pgcpu: cannot read the Postgres server log $log; set PG_LOG to it" >&2
  exit 1
fi
from=$(($(stat -c %s "$log") + 1))
PGOPTIONS='-c log_min_duration_statement=0 -c log_statement_stats=on' CONNS=${CONNS:-2} SECS=${SECS:-3} bash bench/hooks.sh
tail -c "+$from" "$log" | go run ./bench/pgcpu
