#!/usr/bin/env bash
# Creates .turbocat/dev.env with local-only secrets (a JWT signing key, a
# secrets encryption key, and the access key the local Step Functions
# endpoint accepts) the first time `make dev` runs, adds the keys a file
# made by an older version lacks, and prints the path. Values already set in
# the environment win over the file: with --exports it prints shell lines
# that export each value of the file only where the environment has none
# (`make dev` evals them), instead of the file's path.
set -euo pipefail
dir=.turbocat
file=$dir/dev.env
mkdir -p "$dir"
chmod 700 "$dir"
umask 077
touch "$file"
add() { # add NAME VALUE unless the file sets NAME
  if ! grep -q "^$1=" "$file"; then
    echo "$1=$2" >> "$file"
    echo "dev-env: added $1 to $file" >&2
  fi
}
add TURBOCAT_JWT_SECRET "$(head -c 48 /dev/urandom | base64 -w0)"
add TURBOCAT_SECRETS_KEY "$(head -c 32 /dev/urandom | base64 -w0)"
add TURBOCAT_SFN_ACCESS_KEY_ID "TCLOCAL$(od -An -N7 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)"
add TURBOCAT_SFN_SECRET_ACCESS_KEY "$(head -c 30 /dev/urandom | base64 -w0 | tr '+/' 'AB')"
if [ "${1:-}" = --exports ]; then
  while IFS= read -r line; do
    case "$line" in '' | '#'*) continue ;; esac
    name=${line%%=*}
    [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    value=${line#*=}
    printf '[ -n "${%s+set}" ] || export %s=%q\n' "$name" "$name" "$value"
  done <"$file"
  exit 0
fi
echo "$file"
