#!/usr/bin/env bash
# Runs every Go fuzz target in the module for $FUZZTIME each. go test accepts
# only one -fuzz target per run, so the targets are listed and run in turn.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-20000x}
found=0
while IFS= read -r pkg; do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		found=$((found + 1))
		echo "fuzz $pkg $target ($fuzztime)"
		# Minimizing a large new input may take the default minute each;
		# a short run wants its time spent fuzzing.
		go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" -fuzzminimizetime="${FUZZMINIMIZETIME:-10s}" "$pkg"
	done
done < <(go list ./...)
echo "fuzzed $found targets"
[ "$found" -gt 0 ]
