#!/usr/bin/env bash
# loadgen-bench.sh: is muxbench's load generator good enough to measure a
# server? Three figures, server pinned to CPU 0 and generator to CPU 1,
# 64-byte messages, sockperf framing, medians over REPS interleaved runs:
#
#   1. 1 active connection, closed loop: our p50 round trip against the p50
#      of `sockperf ping-pong --tcp --full-rtt` on the same server.
#      Target: ratio <= 1.10.
#   2. 32 active connections, closed loop: our CPU per request against the
#      server's. Target: ratio <= 1.00 (the server saturates first).
#   3. Time to open 19,000 connections (-conns 19000, default
#      -connect-rate). Target: <= 1.0 s.
#
#   scripts/loadgen-bench.sh [REPS] [DURATION_SECONDS]
#
# SERVER=muxbench (default: `muxbench serve -backend epoll-lt -proto
# sockperf -cpus 0`; BACKEND=... picks another backend) or SERVER=sockperf
# (`sockperf server -f FEED -F e`, sockperf's own epoll server; it listens
# with a backlog of 10, so figure 3 always uses muxbench serve, or is
# skipped if the serve command is missing).
#
# CPU: the server's user+system time from /proc/PID/stat (what getrusage
# reports, exited threads included; 10 ms ticks) sampled before and after
# the generator ran; ours is run_cpu_ns (getrusage RUSAGE_SELF over
# warm-up + window + drain) per run_requests, so both cover the same
# traffic. (Per-thread schedstat would miss threads that exited.)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need sockperf sockperf
need taskset util-linux
need ss iproute2
need jq jq

REPS=${1:-5}
DURATION=${2:-3}
SERVER=${SERVER:-muxbench}
BACKEND=${BACKEND:-epoll-lt}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
MSG=64

work=$(mktemp -d)
pids=()
cleanup() {
	local p
	exec 9>&- 2>/dev/null || true
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/muxbench" ./cmd/muxbench
mux() { timeout $((DURATION + 60)) taskset -c "$CLIENT_CPU" "$work/muxbench" "$@"; }
have_serve() { "$work/muxbench" serve -h >/dev/null 2>&1; }

# start_muxbench PROTO: start `muxbench serve` on CPU 0; sets spid, port.
# Its first stdout line is {"addr":"127.0.0.1:PORT","pid":N,...}; closing
# its stdin (fd 9) stops it.
start_muxbench() {
	local fifo="$work/ctl" hello i
	rm -f "$fifo" "$work/serve.out"
	mkfifo "$fifo"
	taskset -c "$SERVER_CPU" "$work/muxbench" serve -backend "$BACKEND" -proto "$1" -cpus "$SERVER_CPU" \
		<"$fifo" >"$work/serve.out" 2>"$work/serve.err" &
	spid=$!
	skind=muxbench
	pids+=("$spid")
	exec 9>"$fifo"
	for i in $(seq 1 200); do # at most 10 s for the hello line
		[ -s "$work/serve.out" ] && break
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.05
	done
	hello=$(head -n1 "$work/serve.out" 2>/dev/null || true)
	port=$(echo "$hello" | jq -r '.addr // empty' 2>/dev/null | sed -n 's/^127\.0\.0\.1:\([0-9]*\)$/\1/p')
	if [ -z "$port" ]; then
		echo "muxbench serve did not start: $hello $(cat "$work/serve.err")" >&2
		return 1
	fi
}

# start_sockperf: start sockperf's epoll server on CPU 0; sets spid, port.
# (sockperf 3.7 accepts -F only together with a feed file, -f.)
start_sockperf() {
	port=$(free_port)
	echo "T:127.0.0.1:$port" >"$work/feed"
	taskset -c "$SERVER_CPU" sockperf server -f "$work/feed" -F e >"$work/sockperf.out" 2>&1 &
	spid=$!
	skind=sockperf
	pids+=("$spid")
	wait_listen "$port"
}

# stop_server: stop the server started last (EOF on stdin for muxbench).
stop_server() {
	if [ "$skind" = muxbench ]; then exec 9>&-; else kill "$spid" 2>/dev/null || true; fi
	wait "$spid" 2>/dev/null || true
}

# ours_p50: our 1-active closed-loop p50 round trip in µs.
ours_p50() {
	mux load -target "127.0.0.1:$port" -proto sockperf -size "$MSG" -conns 1 -active 1 -mode closed \
		-warmup 500ms -duration "${DURATION}s" -json | jq -e '.latency_ns.p50 / 1000'
}

# sockperf_p50: sockperf ping-pong's p50 round trip in µs (--full-rtt: it
# prints RTT/2 otherwise). Its own warm-up is ~400 ms.
sockperf_p50() {
	local out p50
	out=$(timeout $((DURATION + 60)) taskset -c "$CLIENT_CPU" sockperf ping-pong --tcp --full-rtt -i 127.0.0.1 \
		-p "$port" -t "$DURATION" -m "$MSG" 2>&1)
	p50=$(echo "$out" | sed -n 's/.*percentile 50.000 = *\([0-9.]*\).*/\1/p')
	if [ -z "$p50" ]; then
		echo "sockperf ping-pong printed no p50:" >&2
		echo "$out" >&2
		return 1
	fi
	echo "$p50"
}

# proc_cpu_ns PID: user+system CPU of process PID in ns (/proc/PID/stat
# utime+stime, in clock ticks; the fields after the command name's ")").
proc_cpu_ns() {
	local stat
	stat=$(cat /proc/"$1"/stat)
	echo "${stat##*) }" | awk -v hz="$(getconf CLK_TCK)" '{printf "%.0f\n", ($12 + $13) * 1e9 / hz}'
}

# cpu32: "client_ns_per_req server_ns_per_req req_per_s" at 32 active.
cpu32() {
	local c0 c1 res
	c0=$(proc_cpu_ns "$spid")
	res=$(mux load -target "127.0.0.1:$port" -proto sockperf -size "$MSG" -conns 32 -active 32 -mode closed \
		-warmup 500ms -duration "${DURATION}s" -json)
	c1=$(proc_cpu_ns "$spid")
	echo "$res" | jq -e -r --argjson s "$((c1 - c0))" \
		'select(.run_requests > 0) | "\(.run_cpu_ns / .run_requests) \($s / .run_requests) \(.rate_achieved)"'
}

# connect19k: seconds to open 19,000 connections (fresh muxbench server).
connect19k() {
	mux load -target "127.0.0.1:$port" -conns 19000 -active 0 -warmup 0s -duration 100ms -json |
		jq -e '.connect_seconds'
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) exit 1; print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

if [ "$SERVER" = muxbench ] && ! have_serve; then
	echo "muxbench has no serve command yet: rerun with SERVER=sockperf" >&2
	exit 1
fi
case "$SERVER" in
muxbench) label="muxbench serve -backend $BACKEND" ;;
sockperf) label="sockperf server -F e" ;;
*) echo "SERVER must be muxbench or sockperf, not $SERVER" >&2; exit 2 ;;
esac

: >"$work/p50.ours"; : >"$work/p50.sockperf"; : >"$work/cpu"; : >"$work/conn"
for rep in $(seq 1 "$REPS"); do
	echo "rep $rep/$REPS" >&2
	if [ "$SERVER" = muxbench ]; then start_muxbench sockperf; else start_sockperf; fi
	if [ $((rep % 2)) = 1 ]; then # interleaved, alternating order: drift hits both
		ours_p50 >>"$work/p50.ours"
		sockperf_p50 >>"$work/p50.sockperf"
	else
		sockperf_p50 >>"$work/p50.sockperf"
		ours_p50 >>"$work/p50.ours"
	fi
	cpu32 >>"$work/cpu"
	stop_server
	if have_serve; then
		start_muxbench echo
		connect19k >>"$work/conn"
		stop_server
	fi
done

op=$(median <"$work/p50.ours")
sp=$(median <"$work/p50.sockperf")
cc=$(cut -d' ' -f1 "$work/cpu" | median)
sc=$(cut -d' ' -f2 "$work/cpu" | median)
rate=$(cut -d' ' -f3 "$work/cpu" | median)
# Ratios are the median of each run's own ratio (the pairs ran back to
# back on the same server), not the ratio of the two medians.
pr=$(paste -d' ' "$work/p50.ours" "$work/p50.sockperf" | awk '$2 > 0 {printf "%.6f\n", $1 / $2}' | median)
cr=$(awk '$2 > 0 {printf "%.6f\n", $1 / $2}' "$work/cpu" | median)
echo
echo "server: $label, CPU $SERVER_CPU; generator CPU $CLIENT_CPU; ${MSG} B; medians of $REPS runs of ${DURATION}s"
printf '%-44s %10s %10s %7s %s\n' "" ours reference ratio target
printf '%-44s %10s %10s %7s\n' "" "(median)" "(median)" "(median of per-run ratios)"
printf '%-44s %10.1f %10.1f %7.3f %s\n' "1 active closed loop: p50 RTT µs (vs sockperf)" "$op" "$sp" "$pr" "<= 1.10"
printf '%-44s %10.0f %10.0f %7.3f %s\n' "32 active closed loop: CPU ns/req (vs server)" "$cc" "$sc" "$cr" "<= 1.00"
printf '%-44s %10.0f\n' "32 active closed loop: req/s" "$rate"
if [ -s "$work/conn" ]; then
	printf '%-44s %10.3f %10s %7s %s\n' "open 19,000 connections: seconds" "$(median <"$work/conn")" "" "" "<= 1.0"
else
	echo "open 19,000 connections: skipped (needs muxbench serve)"
fi
echo
echo "per run: p50 ours: $(tr '\n' ' ' <"$work/p50.ours")"
echo "         p50 sockperf: $(tr '\n' ' ' <"$work/p50.sockperf")"
echo "         cpu client/server ns/req, req/s: $(tr '\n' ';' <"$work/cpu")"
echo "         connect s: $(tr '\n' ' ' <"$work/conn")"
