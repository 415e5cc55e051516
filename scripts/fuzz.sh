#!/usr/bin/env bash
# Runs every Fuzz target in every module for FUZZTIME (default 10s).
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-10s}
for dir in $(go list -m -f '{{.Dir}}'); do
	while IFS= read -r file; do
		pkgdir=$(dirname "$file")
		for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
			echo "== $pkgdir $target ($FUZZTIME)"
			(cd "$pkgdir" && go test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" .)
		done
	done < <(grep -rl --include='*_test.go' -E '^func Fuzz' "$dir" || true)
done
