#!/usr/bin/env bash
# Creates .turbocat/dev.env with local-only secrets (a JWT signing key and a
# secrets encryption key) the first time `make dev` runs, and prints the path.
# Values already set in the environment win over the file.
set -euo pipefail
dir=.turbocat
file=$dir/dev.env
mkdir -p "$dir"
chmod 700 "$dir"
if [ ! -f "$file" ]; then
  umask 077
  {
    echo "TURBOCAT_JWT_SECRET=$(head -c 48 /dev/urandom | base64 -w0)"
    echo "TURBOCAT_SECRETS_KEY=$(head -c 32 /dev/urandom | base64 -w0)"
  } > "$file"
  echo "dev-env: created $file with local signing and encryption keys" >&2
fi
echo "$file"
