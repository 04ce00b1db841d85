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
# each sock_diag read took at the window's edges; each as median and range
# over the repetitions, the ratios per interleaved pair.
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

# summary of the numbers on stdin: "median [min–max]"
summary() { sort -g | awk '{v[NR]=$1} END {if (NR == 0) exit 1; m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "%.4g [%.4g–%.4g]", m, v[1], v[NR]}'; }

# The external command is what the harness starts as its child, but for
# the address: same backend, protocol and CPUs.
external=(-exec "$bin serve -backend epoll-lt -addr {addr} -proto echo -cpus 0" -name serve-exec -server-cpu busiest)

echo "CPU µs per request (child: its loop thread; external: its busiest thread, and its process tree), p50 µs, sock_diag read ms; median [min–max] over the reps; ratios: external/child per interleaved pair"
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
	# val HOW JQ: one line per rep
	val() { for r in $(seq 1 "$REPS"); do jq "$2" "$work/$f-$1-$r/run.json"; done; }
	# pairs JQ_CHILD JQ_EXTERNAL: external/child per rep
	pairs() { paste <(val child "$1") <(val external "$2") | awk '{print $2 / $1}'; }
	sat=$(for d in "$work/$f"-*-*/; do jq -r '.samples[0].status' "$d/run.json"; done | grep -c saturated || true)
	echo "== $f fds ($sat of $((2 * REPS)) samples saturated: the server CPU set busy with other work)"
	echo "  CPU/req  child loop thread   $(val child '.samples[0].server.cpu_ns_per_req / 1000' | summary)"
	echo "           external busiest    $(val external '.samples[0].server.tree.busiest_cpu_ns_per_req / 1000' | summary)   ratio $(pairs '.samples[0].server.cpu_ns_per_req' '.samples[0].server.tree.busiest_cpu_ns_per_req' | summary)"
	echo "           external tree       $(val external '.samples[0].server.tree.cpu_ns_per_req / 1000' | summary)"
	echo "           child process       $(val child '.samples[0].server.process_cpu_ns_per_req / 1000' | summary)"
	echo "  p50      child               $(val child '.samples[0].latency_ns.p50 / 1000' | summary)"
	echo "           external            $(val external '.samples[0].latency_ns.p50 / 1000' | summary)   ratio $(pairs '.samples[0].latency_ns.p50' '.samples[0].latency_ns.p50' | summary)"
	echo "  sock_diag read at start      $(val external '.samples[0].sockets.start_read_ns / 1e6' | summary)"
	echo "                 at end        $(val external '.samples[0].sockets.end_read_ns / 1e6' | summary)"
done
echo "($REPS interleaved pairs per fd count, the order alternating; $ACTIVE active at $RATE req/s, window $DURATION)"
