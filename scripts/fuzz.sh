#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each (default 3s, as
# `make test` does; `make fuzz FUZZTIME=2m` for a longer hunt). A failing
# input is written to the package's testdata/fuzz/<target>/ and fails the run.
#
# Go's fuzzer sometimes ends a short run with "context deadline exceeded"
# when the time runs out while a worker is busy, without any failing input;
# such a run wrote no new testdata file and is reported, not failed.
set -euo pipefail
fuzztime=${FUZZTIME:-3s}
status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for pkg in $(go list ./... | grep -v /node_modules/); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  grep -lq '^func Fuzz' "$dir"/*_test.go 2>/dev/null || continue
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "fuzz $pkg $target ($fuzztime)"
    corpus="$dir/testdata/fuzz/$target"
    before=$({ find "$corpus" -type f 2>/dev/null || true; } | wc -l)
    if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" > "$log" 2>&1; then
      after=$({ find "$corpus" -type f 2>/dev/null || true; } | wc -l)
      if [ "$after" -eq "$before" ] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
        echo "  (the fuzzer's time ran out mid-input; no failing input was found)"
        continue
      fi
      cat "$log"
      status=1
    fi
  done
done
exit $status
