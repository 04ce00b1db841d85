#!/usr/bin/env bash
# rate-perfstat.sh: what the server's loop thread does per request as the
# request rate falls, counted by perf stat's software events, and which
# hardware events this machine can count at all. One `muxbench serve`
# (BACKEND, default poll) on CPU 0 holds FDS (default 10000) connections,
# one active; `muxbench load` on CPU 1 drives it in open loop at each of
# RATES (default "50 500 5000") for a 4 s window. perf stat counts the
# server process over 2 s inside each window (from 1.5 s after the load's
# warm-up starts), and the rates are run REPS (default 3) times,
# interleaved.
#
#   flock /tmp/muxbench-measure.lock scripts/rate-perfstat.sh
#
# Prints, per rate and repetition: task-clock, context switches,
# cpu-migrations and page faults per request, and cycles, instructions and
# cache-misses per request or "<not supported>" where the machine (a VM
# without a virtual PMU) has no hardware counters.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need perf linux-perf
need ss iproute2
BACKEND=${BACKEND:-poll}
FDS=${FDS:-10000}
RATES=${RATES:-50 500 5000}
REPS=${REPS:-3}
tmp=$(mktemp -d)
server=
cleanup() {
	if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
go build -o "$tmp/muxbench" ./cmd/muxbench
port=$(free_port)
"$tmp/muxbench" serve -backend "$BACKEND" -cpus 0 -control none -addr "127.0.0.1:$port" >"$tmp/hello" 2>&1 &
server=$!
wait_listen "$port"
events=task-clock,context-switches,cpu-migrations,page-faults,cycles,instructions,cache-misses
printf '%-6s %-4s %12s %12s %12s %12s %12s %12s %12s\n' rate rep task-ns/req cs/req migr/req faults/req cycles/req instr/req cmiss/req
for rep in $(seq 1 "$REPS"); do
	for rate in $RATES; do
		"$tmp/muxbench" load -target "127.0.0.1:$port" -conns "$FDS" -active 1 -rate "$rate" \
			-warmup 0 -duration 4s -cpus 1 >"$tmp/load" 2>&1 &
		load=$!
		wait_fds "$server" "$FDS"
		sleep 1.5
		perf stat -x, -e "$events" -p "$server" -- sleep 2 2>"$tmp/perf" >/dev/null
		wait "$load"
		req=$((rate * 2))
		awk -F, -v rate="$rate" -v rep="$rep" -v req="$req" '
			{ v[$3] = $1 }
			function per(e) { return (v[e] ~ /^[0-9.]+$/) ? sprintf("%.3g", v[e] / req) : "n/a" }
			END {
				tc = (v["task-clock"] ~ /^[0-9.]+$/) ? sprintf("%.3g", v["task-clock"] * 1e6 / req) : "n/a"
				printf "%-6s %-4s %12s %12s %12s %12s %12s %12s %12s\n", rate, rep, tc, per("context-switches"), per("cpu-migrations"), per("page-faults"), per("cycles"), per("instructions"), per("cache-misses")
			}' "$tmp/perf"
	done
done
echo "(task-clock is every server thread's, in ns per request; n/a: <not supported> or not counted on this machine)"
