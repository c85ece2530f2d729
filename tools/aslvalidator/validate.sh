#!/usr/bin/env bash
# Validates Amazon States Language definitions with asl-validator (pinned in
# package.json). With no arguments it checks every compiled definition in the
# repository: internal/compiler/testdata/*/want.asl.json and
# statemachines/*.asl.json. Install first: npm ci --prefix tools/aslvalidator
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$here/node_modules/.bin/asl-validator"
if [[ ! -x "$bin" ]]; then
  echo "aslvalidator: $bin not found; run: npm ci --prefix tools/aslvalidator" >&2
  exit 2
fi

files=("$@")
if [[ ${#files[@]} -eq 0 ]]; then
  shopt -s nullglob
  files=("$root"/internal/compiler/testdata/*/want.asl.json "$root"/statemachines/*.asl.json)
fi
if [[ ${#files[@]} -eq 0 ]]; then
  echo "aslvalidator: no definitions to validate" >&2
  exit 2
fi

args=()
for f in "${files[@]}"; do
  args+=(--json-path "$f")
done
"$bin" "${args[@]}"
echo "aslvalidator: ${#files[@]} definitions valid"
