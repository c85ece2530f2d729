#!/usr/bin/env bash
# Makes sure the local Postgres cluster is running and that the databases
# Turbocat uses exist. Used by `make dev`, `make test` and .ci/run. Each
# argument is a database name or a postgres:// URL, whose database is meant
# (make dev passes DATABASE_URL, so any local database it names is created).
set -euo pipefail

host=${PGHOST:-127.0.0.1}
port=${PGPORT:-5432}
user=${PGUSER:-postgres}

if ! pg_isready -q -h "$host" -p "$port" 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    version=$(ls /etc/postgresql | sort -n | tail -n 1)
    echo "ensure-postgres: starting cluster $version/main"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  fi
  for _ in $(seq 1 30); do
    pg_isready -q -h "$host" -p "$port" && break
    sleep 1
  done
fi
if ! pg_isready -q -h "$host" -p "$port"; then
  echo "ensure-postgres: no Postgres at $host:$port. Start one (Debian: pg_ctlcluster 15 main start) or set DATABASE_URL." >&2
  exit 1
fi

for db in "$@"; do
  case "$db" in
  postgres://* | postgresql://*)
    db=${db#*://}; db=${db#*/}; db=${db%%\?*}
    [ -n "$db" ] || continue
    ;;
  esac
  exists=$(psql -h "$host" -p "$port" -U "$user" -d postgres -tA -v name="$db" <<<"SELECT 1 FROM pg_database WHERE datname = :'name'")
  if [ "$exists" != "1" ]; then
    echo "ensure-postgres: creating database $db"
    psql -h "$host" -p "$port" -U "$user" -d postgres -v ON_ERROR_STOP=1 -qc "CREATE DATABASE \"${db//\"/\"\"}\""
  fi
done
