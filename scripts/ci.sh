#!/usr/bin/env bash
# ci.sh: everything CI checks, in order. The README's test command.
#
#   bash scripts/ci.sh
#
# 1. gofmt -l (fails if it lists a file), go vet, staticcheck (its default
#    checks, none turned off; a pinned version from the Go module proxy),
#    the import-group check (scripts/importgroups), and the whole test
#    suite under the race detector;
# 2. `muxbench run smoke` into a temporary directory (or $MUXBENCH_CI_OUT),
#    then checks it: every backend present, no integrity errors, select
#    unsupported past FD_SETSIZE, run.json/summary.csv/bench.txt parse, and
#    benchstat reads bench.txt unchanged;
# 3. `muxbench run claims-quick` (the claims table in about 3 minutes) and
#    its checks: every part finished, a verdict and rule for every claim,
#    every sweep part's population proof;
# 4. scripts/netns-hosts.sh: a server and two generators in network
#    namespaces, merged and counted (prints "skipped: <why>" where
#    namespaces cannot be made);
# 5. compares the smoke run against the committed smoke reference, report
#    only: timing on a shared machine is noise, never a CI failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# The benchstat the results must satisfy, from the Go module proxy.
BENCHSTAT=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
# The linter, from the Go module proxy (v0.8.2, the newest it serves, runs
# with Go 1.26).
STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.8.2

echo "== gofmt -l"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt would change these files (run gofmt -w on them):" >&2
	echo "$unformatted" >&2
	exit 1
fi

echo "== go vet"
go vet ./...

echo "== staticcheck"
go run "$STATICCHECK" ./...

echo "== import groups"
go run ./scripts/importgroups

echo "== go test -race"
go test -race -count=1 -timeout 20m ./...

out=${MUXBENCH_CI_OUT:-$(mktemp -d)}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/muxbench" ./cmd/muxbench

echo "== muxbench run smoke -> $out/smoke"
"$bin/muxbench" run -out "$out/smoke" smoke

echo "== check the smoke results"
go run ./scripts/checkrun "$out/smoke"
go run "$BENCHSTAT" "$out/smoke/bench.txt" >"$out/smoke/benchstat.txt"
grep -q 'p50-sec' "$out/smoke/benchstat.txt" || { # benchstat shows p50-ns as seconds
	echo "benchstat output has no p50 latency table:" >&2
	cat "$out/smoke/benchstat.txt" >&2
	exit 1
}

echo "== muxbench run claims-quick -> $out/claims-quick"
"$bin/muxbench" run -out "$out/claims-quick" claims-quick
go run ./scripts/checkrun "$out/claims-quick"

echo "== multi-host run in network namespaces"
bash scripts/netns-hosts.sh "$bin/muxbench"

if [ -f results/reference/smoke/run.json ]; then
	echo "== compare with results/reference/smoke (report only)"
	"$bin/muxbench" compare results/reference/smoke "$out/smoke" || true
fi
echo "ci.sh: all checks passed; smoke results in $out/smoke"
