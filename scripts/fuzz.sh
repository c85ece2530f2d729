#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each (default 3s, as
# `make test` does; `make fuzz FUZZTIME=2m` for a longer hunt). Crashers are
# written to testdata/fuzz and fail the run.
set -euo pipefail
fuzztime=${FUZZTIME:-3s}
status=0
for pkg in $(go list ./... | grep -v /node_modules/); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  grep -lq '^func Fuzz' "$dir"/*_test.go 2>/dev/null || continue
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "fuzz $pkg $target ($fuzztime)"
    if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" > /tmp/fuzz.$$.log 2>&1; then
      cat /tmp/fuzz.$$.log
      status=1
    fi
  done
done
rm -f /tmp/fuzz.$$.log
exit $status
