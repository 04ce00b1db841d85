#!/usr/bin/env bash
# remote-compare.sh: does driving a server over its control port (run
# -server) measure what a run that starts its own server measures? For
# each backend, REPS (default 5) interleaved pairs of the same one-point
# scenario: `muxbench run` with a fresh server child per sample, then
# `muxbench run -server` against one long-lived `muxbench serve -control
# tcp:...` pinned the same way (CPU 0; load on CPU 1). Prints the median
# server CPU per request and p50 of each and the remote/child ratios.
#
#   flock /tmp/muxbench-measure.lock scripts/remote-compare.sh [REPS] [MUXBENCH_BINARY]
#
# FDS (default 1000), ACTIVE (8), RATE (1000), DURATION (2s) and BACKENDS
# ("epoll-lt poll") change the point.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need jq jq

REPS=${1:-5}
bin=${2:-}
FDS=${FDS:-1000}
ACTIVE=${ACTIVE:-8}
RATE=${RATE:-1000}
DURATION=${DURATION:-2s}
BACKENDS=${BACKENDS:-epoll-lt poll}

work=$(mktemp -d)
srv_pid=
cleanup() {
	[ -z "$srv_pid" ] || kill "$srv_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "$bin" ]; then
	go build -o "$work/muxbench" ./cmd/muxbench
	bin="$work/muxbench"
fi

# median of the numbers on stdin
median() { sort -g | awk '{v[NR]=$1} END {if (NR == 0) exit 1; print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

printf '%-9s %14s %14s %7s %10s %10s %7s\n' backend "child µs/req" "remote µs/req" ratio "child p50" "remote p50" ratio
for b in $BACKENDS; do
	cat >"$work/$b.yaml" <<-YAML
		name: remote-compare-$b
		backends: [$b]
		fds: [$FDS]
		active: $ACTIVE
		rate: $RATE
		warmup: 500ms
		duration: $DURATION
		repetitions: 1
		server_cpus: "0"
		client_cpus: "1"
	YAML
	"$bin" serve -backend "$b" -addr 127.0.0.1:0 -cpus 0 -control tcp:127.0.0.1:0 </dev/null >"$work/serve.out" 2>"$work/serve.err" &
	srv_pid=$!
	for i in $(seq 1 100); do # at most 10 s for the hello line
		[ -s "$work/serve.out" ] && break
		sleep 0.1
	done
	hello=$(head -n1 "$work/serve.out")
	[ -n "$hello" ] || { echo "no hello from serve: $(cat "$work/serve.err")" >&2; exit 1; }
	remote=(-server "$(jq -r .addr <<<"$hello")" -control "$(jq -r .control <<<"$hello")" -token "$(jq -r .token <<<"$hello")")
	for r in $(seq 1 "$REPS"); do
		for how in child remote; do
			args=()
			[ "$how" = remote ] && args=("${remote[@]}")
			"$bin" run "${args[@]}" -no-report -out "$work/$b-$how-$r" "$work/$b.yaml" >/dev/null 2>"$work/$b-$how-$r.err" ||
				{ echo "$b $how rep $r failed: $(tail -n3 "$work/$b-$how-$r.err")" >&2; exit 1; }
			status=$(jq -r '.samples[0].status' "$work/$b-$how-$r/run.json")
			[ "$status" = ok ] || { echo "$b $how rep $r: $status: $(jq -r '.samples[0].reason' "$work/$b-$how-$r/run.json")" >&2; exit 1; }
		done
	done
	kill "$srv_pid"
	wait "$srv_pid" 2>/dev/null || true
	srv_pid=
	col() { for r in $(seq 1 "$REPS"); do jq "$2" "$work/$b-$1-$r/run.json"; done | median; }
	cc=$(col child '.samples[0].server.cpu_ns_per_req / 1000')
	rc=$(col remote '.samples[0].server.cpu_ns_per_req / 1000')
	cp=$(col child '.samples[0].latency_ns.p50 / 1000')
	rp=$(col remote '.samples[0].latency_ns.p50 / 1000')
	printf '%-9s %14.2f %14.2f %7.2f %10.1f %10.1f %7.2f\n' "$b" "$cc" "$rc" "$(awk -v a="$rc" -v b="$cc" 'BEGIN { print a / b }')" "$cp" "$rp" "$(awk -v a="$rp" -v b="$cp" 'BEGIN { print a / b }')"
done
echo "($REPS interleaved pairs each; $FDS fds, $ACTIVE active at $RATE req/s, window $DURATION; medians; µs)"
