#!/usr/bin/env bash
# sockperf-compare.sh: server CPU per request of muxbench's servers against
# sockperf's own server using the same multiplexer, driven by the same
# `sockperf ping-pong --tcp` client. Server on CPU 0, client on CPU 1.
#
#   scripts/sockperf-compare.sh [DURATION_SECONDS] [REPS]
#
# Prints, per backend, the median over REPS runs of server CPU µs/request
# (from /proc/PID/task/*/schedstat: every thread of either server, so ours
# includes the Go runtime's threads) and p50 round trip, and the ratio
# muxbench / sockperf. sockperf's -F s|p|e servers are select, poll, epoll.
#
# ACTIVE=N (default 1) makes the client ping-pong over N connections (a
# sockperf feed file; one message in flight, sent round-robin), and IDLE=M
# (default 0) holds M more connections open and silent for the run with
# `muxbench load -active 0` (at 500 connects/s: sockperf listens with a
# backlog of 10, and a faster burst loses connections), pinned with the client. MPS=R (default 0)
# switches the client from ping-pong (closed loop) to `under-load --mps R`
# (open loop at R messages/s; sockperf then answers only every reply it
# samples, so CPU per request counts every message sent). Runs are
# interleaved ours/theirs, so drift hits both alike.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need sockperf sockperf
need taskset util-linux
need ss iproute2

DURATION=${1:-5}
REPS=${2:-3}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
MSG=${MSG:-64}
ACTIVE=${ACTIVE:-1}
IDLE=${IDLE:-0}
MPS=${MPS:-0}
BACKENDS=${BACKENDS:-select:s poll:p epoll-lt:e epoll-et:e}

work=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/muxbench" ./cmd/muxbench

# run_client PORT PID: drive the server with sockperf and print
# "cpu_ns_per_req p50_us" for it.
run_client() {
	local port=$1 pid=$2 c0 c1 out replies p50 idle=""
	if [ "$IDLE" -gt 0 ]; then
		taskset -c "$CLIENT_CPU" "$work/muxbench" load -target "127.0.0.1:$port" -conns "$IDLE" -active 0 -connect-rate 500 \
			-duration $((DURATION + 8))s >"$work/idle.out" 2>&1 &
		idle=$!
		pids+=("$idle")
		# Population proof: the server holds the idle connections (accepted,
		# not just queued) before its CPU is sampled.
		wait_fds "$pid" "$IDLE" || { cat "$work/idle.out" >&2; return 1; }
	fi
	: >"$work/feed.client"
	for _ in $(seq 1 "$ACTIVE"); do echo "T:127.0.0.1:$port" >>"$work/feed.client"; done
	sleep 0.5 # and has finished accepting; then the window starts
	c0=$(cpu_ns "$pid")
	local mode=(ping-pong)
	if [ "$MPS" -gt 0 ]; then mode=(under-load --mps "$MPS" --reply-every 1); fi
	out=$(timeout $((DURATION + 30)) taskset -c "$CLIENT_CPU" sockperf "${mode[@]}" -f "$work/feed.client" -F e \
		-t "$DURATION" -m "$MSG" --full-rtt 2>&1)
	c1=$(cpu_ns "$pid")
	if [ -n "$idle" ]; then
		kill "$idle" 2>/dev/null || true
		wait "$idle" 2>/dev/null || true
	fi
	replies=$(echo "$out" | sed -n 's/.*\[Total Run\].*ReceivedMessages=\([0-9]*\).*/\1/p')
	p50=$(echo "$out" | sed -n 's/.*percentile 50.000 = *\([0-9.]*\).*/\1/p')
	if [ -z "$replies" ] || [ "$replies" -eq 0 ]; then
		echo "sockperf client got no replies from port $port:" >&2
		echo "$out" >&2
		return 1
	fi
	echo "$(( (c1 - c0) / replies )) $p50"
}

# ours BACKEND: one run against muxbench serve.
ours() {
	local fifo="$work/ctl.$RANDOM" hello port pid
	mkfifo "$fifo"
	"$work/muxbench" serve -backend "$1" -proto sockperf -cpus "$SERVER_CPU" <"$fifo" >"$work/serve.out" &
	local spid=$!
	pids+=("$spid")
	exec 9>"$fifo" # hold stdin open; closing it stops the server
	for _ in $(seq 1 200); do [ -s "$work/serve.out" ] && break; sleep 0.05; done
	hello=$(head -n1 "$work/serve.out")
	port=$(echo "$hello" | sed -n 's/.*"addr":"127.0.0.1:\([0-9]*\)".*/\1/p')
	[ -n "$port" ] || { echo "muxbench serve did not start: $hello" >&2; return 1; }
	run_client "$port" "$spid"
	exec 9>&-
	wait "$spid" || true
	rm -f "$fifo"
}

# theirs F: one run against `sockperf server -F F`.
theirs() {
	local port feed="$work/feed"
	port=$(free_port)
	echo "T:127.0.0.1:$port" >"$feed"
	taskset -c "$SERVER_CPU" sockperf server -f "$feed" -F "$1" >/dev/null 2>&1 &
	local spid=$!
	pids+=("$spid")
	wait_listen "$port"
	sleep 1 # sockperf listens before its loop watches the listener; connections in between wait unaccepted
	run_client "$port" "$spid"
	kill "$spid"
	wait "$spid" 2>/dev/null || true
}

# range FILE: min-max of the first column, in µs.
range() { cut -d' ' -f1 "$1" | sort -n | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%.1f-%.1f", lo/1000, hi/1000}'; }

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

printf '%-9s %12s %12s %7s %12s %12s  %s\n' backend "ours µs/req" "sockperf" ratio "ours p50µs" "sockperf p50" "ours / sockperf µs/req ranges (min-max)"
echo "active $ACTIVE, idle $IDLE, ${MSG} B, $([ "$MPS" -gt 0 ] && echo "open loop $MPS msg/s" || echo "ping-pong"), $REPS interleaved runs of ${DURATION}s, server CPU $SERVER_CPU, client CPU $CLIENT_CPU"
for pair in $BACKENDS; do
	b=${pair%%:*} f=${pair##*:}
	: >"$work/o" ; : >"$work/t"
	for _ in $(seq 1 "$REPS"); do # interleaved, so drift hits both alike
		ours "$b" >>"$work/o"
		theirs "$f" >>"$work/t"
	done
	oc=$(cut -d' ' -f1 "$work/o" | median) tc=$(cut -d' ' -f1 "$work/t" | median)
	op=$(cut -d' ' -f2 "$work/o" | median) tp=$(cut -d' ' -f2 "$work/t" | median)
	printf '%-9s %12.2f %12.2f %7.2f %12.1f %12.1f  %s / %s\n' "$b" "$(echo "$oc/1000" | bc -l)" "$(echo "$tc/1000" | bc -l)" \
		"$(echo "$oc/$tc" | bc -l)" "$op" "$tp" "$(range "$work/o")" "$(range "$work/t")"
done
