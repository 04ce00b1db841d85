#!/usr/bin/env bash
# uring-compare.sh: server CPU per request of muxbench's uring-poll backend
# against an independent C program doing the same multishot-poll loop over
# liburing (scripts/testdata/uring-poll-echo.c, compiled here with
# cc -luring), and against muxbench's epoll-lt in the same run. Server on
# CPU 0, load on CPU 1.
#
#   flock /tmp/muxbench-measure.lock scripts/uring-compare.sh [DURATION_SECONDS] [REPS]
#
# Each run: IDLE (default 1000) silent connections opened with
# `muxbench load -active 0` and proven accepted (the server holds that many
# fds), then ACTIVE (default 32) connections in closed loop (ping-pong,
# MSG bytes) for DURATION seconds with `muxbench load -warmup 0`. Server CPU
# is every thread's schedstat time over the active run (ours includes the
# Go runtime's threads), divided by the requests answered. Runs are
# interleaved uring-poll / C / epoll-lt / uring (the completion-model
# server, for comparison; URING=0 leaves it out), REPS (default 5) of
# each; medians.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need cc gcc
need taskset util-linux
need ss iproute2
need jq jq
if [ ! -e /usr/include/liburing.h ]; then
	echo "missing liburing: install it with: apt-get update && apt-get install -y liburing-dev" >&2
	exit 1
fi

DURATION=${1:-5}
REPS=${2:-5}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
MSG=${MSG:-64}
ACTIVE=${ACTIVE:-32}
IDLE=${IDLE:-1000}
URING=${URING:-1}

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
cc -O2 -Wall -o "$work/uring-poll-echo" scripts/testdata/uring-poll-echo.c -luring

# drive PORT PID: idle connections, then the active closed loop; prints
# "cpu_ns_per_req p50_us".
drive() {
	local port=$1 pid=$2 idle c0 c1 out reqs p50
	taskset -c "$CLIENT_CPU" "$work/muxbench" load -target "127.0.0.1:$port" -conns "$IDLE" -active 0 -connect-rate 5000 \
		-duration $((DURATION + 20))s >"$work/idle.out" 2>&1 &
	idle=$!
	pids+=("$idle")
	# Population proof: the server holds the idle connections (accepted, not queued).
	wait_fds "$pid" "$IDLE" || { cat "$work/idle.out" >&2; return 1; }
	c0=$(cpu_ns "$pid")
	out=$(timeout $((DURATION + 30)) "$work/muxbench" load -target "127.0.0.1:$port" -conns "$ACTIVE" -active "$ACTIVE" \
		-mode closed -size "$MSG" -warmup 0 -duration "${DURATION}s" -cpus "$CLIENT_CPU" -json)
	c1=$(cpu_ns "$pid")
	kill "$idle" 2>/dev/null || true
	wait "$idle" 2>/dev/null || true
	reqs=$(echo "$out" | jq -r '.requests')
	p50=$(echo "$out" | jq -r '.latency_ns.p50 / 1000')
	if [ -z "$reqs" ] || [ "$reqs" -eq 0 ] || [ "$(echo "$out" | jq -r '.errors | length')" -ne 0 ]; then
		echo "load against port $port: $reqs requests, errors $(echo "$out" | jq -c '.errors')" >&2
		return 1
	fi
	echo "$(( (c1 - c0) / reqs )) $p50"
}

# ours BACKEND: one run against muxbench serve.
ours() {
	local fifo="$work/ctl.$RANDOM" hello port spid
	mkfifo "$fifo"
	"$work/muxbench" serve -backend "$1" -cpus "$SERVER_CPU" <"$fifo" >"$work/serve.out" &
	spid=$!
	pids+=("$spid")
	exec 9>"$fifo" # hold stdin open; closing it stops the server
	for _ in $(seq 1 200); do [ -s "$work/serve.out" ] && break; sleep 0.05; done
	hello=$(head -n1 "$work/serve.out")
	port=$(echo "$hello" | jq -r '.addr' 2>/dev/null | sed -n 's/^127.0.0.1:\([0-9]*\)$/\1/p')
	[ -n "$port" ] || { echo "muxbench serve -backend $1 did not start: $hello" >&2; return 1; }
	drive "$port" "$spid"
	exec 9>&-
	wait "$spid" || true
	rm -f "$fifo"
}

# theirs: one run against the C program.
theirs() {
	local port spid
	port=$(free_port)
	taskset -c "$SERVER_CPU" "$work/uring-poll-echo" "$port" &
	spid=$!
	pids+=("$spid")
	wait_listen "$port"
	drive "$port" "$spid"
	kill "$spid"
	wait "$spid" 2>/dev/null || true
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
col() { cut -d' ' -f"$2" "$1" | median; }
all() { cut -d' ' -f1 "$1" | awk '{printf "%s%.2f", (NR>1 ? " " : ""), $1/1000}'; }

: >"$work/u"; : >"$work/c"; : >"$work/e"; : >"$work/w"
for _ in $(seq 1 "$REPS"); do # interleaved, so drift hits them all alike
	ours uring-poll >>"$work/u"
	theirs >>"$work/c"
	ours epoll-lt >>"$work/e"
	if [ "$URING" = 1 ]; then ours uring >>"$work/w"; fi
done
u=$(col "$work/u" 1) c=$(col "$work/c" 1) e=$(col "$work/e" 1)
echo "active $ACTIVE closed loop, idle $IDLE, ${MSG} B, $REPS interleaved runs of ${DURATION}s, server CPU $SERVER_CPU, client CPU $CLIENT_CPU"
printf '%-22s %14s %10s  %s\n' server "median µs/req" "p50 µs" "every run µs/req"
printf '%-22s %14.2f %10.1f  %s\n' "uring-poll (ours)" "$(echo "$u/1000" | bc -l)" "$(col "$work/u" 2)" "$(all "$work/u")"
printf '%-22s %14.2f %10.1f  %s\n' "uring-poll-echo.c" "$(echo "$c/1000" | bc -l)" "$(col "$work/c" 2)" "$(all "$work/c")"
printf '%-22s %14.2f %10.1f  %s\n' "epoll-lt (ours)" "$(echo "$e/1000" | bc -l)" "$(col "$work/e" 2)" "$(all "$work/e")"
if [ "$URING" = 1 ]; then
	w=$(col "$work/w" 1)
	printf '%-22s %14.2f %10.1f  %s\n' "uring server (ours)" "$(echo "$w/1000" | bc -l)" "$(col "$work/w" 2)" "$(all "$work/w")"
fi
printf 'ratio uring-poll / C: %.2f (target <= 1.15); uring-poll / epoll-lt: %.2f\n' "$(echo "$u/$c" | bc -l)" "$(echo "$u/$e" | bc -l)"
