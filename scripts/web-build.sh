#!/usr/bin/env bash
# Builds the web console (web/out) only when web/ changed since the last
# build: a hash of every file the build reads (node_modules, .next, out, the
# tests in e2e/ and test/ and the READMEs aside) is kept in web/.build-stamp, so `make dev` restarts
# in seconds when only the Go code or the environment changed.
# FORCE=1 builds anyway. TURBOCAT_WEB_BUILD replaces the build command
# (the tests use it).
set -euo pipefail
cd "$(dirname "$0")/../web"
stamp=.build-stamp
hash=$(find . \( -path ./node_modules -o -path ./.next -o -path ./out -o -path ./e2e -o -path ./test \) -prune \
  -o -type f ! -name .build-stamp ! -name '*.tsbuildinfo' ! -name next-env.d.ts ! -name '*.md' -print0 \
  | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
if [ "${FORCE:-}" != 1 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] && [ -f out/index.html ]; then
  echo "web: up to date (web/ unchanged since the last build; FORCE=1 make web to rebuild)"
  exit 0
fi
rm -f "$stamp"
eval "${TURBOCAT_WEB_BUILD:-npm ci --no-audit --no-fund && npm run check && npm run build}"
echo "$hash" > "$stamp"
