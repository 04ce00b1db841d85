#!/usr/bin/env bash
# aa-check.sh: does `muxbench compare`'s gate do its job on this machine?
#
#   scripts/aa-check.sh [THRESHOLD]      (default 25%; about 8 minutes)
#
# Runs scripts/testdata/aa.yaml (5 repetitions) three times: A, A again
# with the same binary (an A/A comparison, which the gate must pass), and
# A with a duty-cycled busy loop sharing the server's CPU (a deliberately
# slowed server, which the gate must fail). The loop runs HOG_MS of every
# 2*HOG_MS (default 5 ms) at a higher priority than the server (nice -19):
# the server then waits for it whenever it is busy, but its CPU set stays
# under the saturation threshold, so the gate has to catch the
# slowdown by its significance test, not by lost points. Prints both
# verdicts and exits non-zero if either is wrong.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need taskset util-linux

THRESHOLD=${1:-25%}
SERVER_CPU=${SERVER_CPU:-0}
HOG_MS=${HOG_MS:-5}
need perl perl
work=$(mktemp -d)
hog=""
cleanup() {
	if [ -n "$hog" ]; then kill "$hog" 2>/dev/null || true; fi
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/muxbench" ./cmd/muxbench

"$work/muxbench" run -out "$work/a1" scripts/testdata/aa.yaml >/dev/null
"$work/muxbench" run -out "$work/a2" scripts/testdata/aa.yaml >/dev/null
# The slowed server: a duty-cycled busy loop on the server's CPU, bounded
# in time.
timeout 900 nice -n -19 taskset -c "$SERVER_CPU" perl -MTime::HiRes=time,sleep -e \
	'my $d = $ARGV[0] / 1000; while (1) { my $t = time + $d; 1 while time < $t; sleep $d }' "$HOG_MS" &
hog=$!
"$work/muxbench" run -out "$work/slow" scripts/testdata/aa.yaml >/dev/null
kill "$hog"
wait "$hog" 2>/dev/null || true
hog=""

status=0
echo "== A/A: same code, same machine (must pass)"
if "$work/muxbench" compare -threshold "$THRESHOLD" "$work/a1" "$work/a2" >"$work/aa.txt" 2>&1; then
	grep -E '^(Gate|test|power):' "$work/aa.txt"
else
	rc=$?
	cat "$work/aa.txt"
	echo "aa-check: the A/A comparison failed the gate (exit $rc)" >&2
	status=1
fi
echo "== A vs slowed server (must fail)"
if "$work/muxbench" compare -threshold "$THRESHOLD" "$work/a1" "$work/slow" >"$work/slow.txt" 2>&1; then
	cat "$work/slow.txt"
	echo "aa-check: the slowed server passed the gate" >&2
	status=1
else
	rc=$?
	sed -n '/^summary by backend/,/^$/p' "$work/slow.txt"
	grep -E '^(Gate|  )' "$work/slow.txt" | head -20
	[ "$rc" -eq 1 ] || { echo "aa-check: compare exited $rc, want 1 (regression)" >&2; status=1; }
	if ! grep -q 'REGRESSION' "$work/slow.txt"; then
		echo "aa-check: the gate failed on lost points only, no significant regression (lower HOG_MS?)" >&2
		status=1
	fi
fi
exit "$status"
