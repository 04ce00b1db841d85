#!/usr/bin/env bash
# external-compare.sh: does measuring a server from outside (run -exec:
# sock_diag for its connections, /proc for its CPU) measure what the
# harness measures of its own child (the server's stats lines)? The same
# server both ways: muxbench serve -backend epoll-lt, as the built-in
# epoll-lt and as an external command. For each fd count, REPS (default
# 5) interleaved pairs of one-point runs (the order alternating), 1 active
# connection at 2,000 req/s, server on CPU 0, load on CPU 1. Prints the
# medians of CPU per request — the child's loop thread against the
# external server's busiest thread (its loop thread, read from outside)
# and its whole process tree — and of p50, with the ratios, and the time
# each sock_diag read took at the window's edges.
#
#   flock /tmp/muxbench-measure.lock scripts/external-compare.sh [REPS] [MUXBENCH_BINARY]
#
# FDS (default "1000 10000 19960"), RATE (2000), ACTIVE (1) and DURATION
# (3s) change the points.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need jq jq

REPS=${1:-5}
bin=${2:-}
FDS=${FDS:-1000 10000 19960}
RATE=${RATE:-2000}
ACTIVE=${ACTIVE:-1}
DURATION=${DURATION:-3s}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "$bin" ]; then
	go build -o "$work/muxbench" ./cmd/muxbench
	bin="$work/muxbench"
fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

# median of the numbers on stdin
median() { sort -g | awk '{v[NR]=$1} END {if (NR == 0) exit 1; print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

# The external command is what the harness starts as its child, but for
# the address: same backend, protocol and CPUs.
external=(-exec "$bin serve -backend epoll-lt -addr {addr} -proto echo -cpus 0" -name serve-exec -server-cpu busiest)

printf '%-6s %11s %11s %6s %11s %9s %9s %6s %15s %5s\n' fds "child µs/rq" "busiest" ratio "tree µs/rq" "child p50" "ext p50" ratio "sock_diag ms" "sat."
for f in $FDS; do
	cat >"$work/$f.yaml" <<-YAML
		name: external-compare
		backends: [epoll-lt]
		fds: [$f]
		active: $ACTIVE
		rate: $RATE
		warmup: 1s
		duration: $DURATION
		repetitions: 1
		server_cpus: "0"
		client_cpus: "1"
	YAML
	for r in $(seq 1 "$REPS"); do
		order="child external"
		[ $((r % 2)) = 0 ] && order="external child"
		for how in $order; do
			args=()
			[ "$how" = external ] && args=("${external[@]}")
			d="$work/$f-$how-$r"
			"$bin" run "${args[@]}" -no-report -out "$d" "$work/$f.yaml" >/dev/null 2>"$d.err" ||
				{ echo "$f fds, $how, rep $r: $(tail -n3 "$d.err")" >&2; exit 1; }
			status=$(jq -r '.samples[0].status' "$d/run.json")
			case $status in
			ok | saturated) ;; # saturated here: other work kept CPU 0 busy; counted below
			*) echo "$f fds, $how, rep $r: $status: $(jq -r '.samples[0].reason' "$d/run.json")" >&2; exit 1 ;;
			esac
		done
	done
	col() { for r in $(seq 1 "$REPS"); do jq "$2" "$work/$f-$1-$r/run.json"; done | median; }
	cc=$(col child '.samples[0].server.cpu_ns_per_req / 1000')
	eb=$(col external '.samples[0].server.tree.busiest_cpu_ns_per_req / 1000')
	et=$(col external '.samples[0].server.tree.cpu_ns_per_req / 1000')
	cp=$(col child '.samples[0].latency_ns.p50 / 1000')
	ep=$(col external '.samples[0].latency_ns.p50 / 1000')
	rs=$(col external '.samples[0].sockets.start_read_ns / 1e6')
	re=$(col external '.samples[0].sockets.end_read_ns / 1e6')
	sat=$(for d in "$work/$f"-*-*/; do jq -r '.samples[0].status' "$d/run.json"; done | grep -c saturated || true)
	printf '%-6s %11.2f %11.2f %6s %11.2f %9.1f %9.1f %6s %7.1f / %5.1f %5s\n' "$f" "$cc" "$eb" "$(ratio "$eb" "$cc")" "$et" "$cp" "$ep" "$(ratio "$ep" "$cp")" "$rs" "$re" "$sat"
done
echo "($REPS interleaved pairs per fd count; $ACTIVE active at $RATE req/s, window $DURATION; medians; CPU µs per request: the child's loop thread vs the external server's busiest thread, ratio external/child, and its process tree; p50 in µs; sock_diag read at the window's start / end; sat.: samples of the $((2 * REPS)) marked saturated)"
