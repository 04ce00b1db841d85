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
#
# CLIENTS=1 compares the load generators instead, in open loop, against
# one `muxbench serve -backend epoll-lt -proto sockperf` on SERVER_CPU:
# `muxbench load -proto sockperf -conns 1 -active 1 -rate R` against
# `sockperf under-load --tcp --mps R --reply-every 1 --full-rtt`, both on
# CLIENT_CPU, MSG bytes, at each rate R of RATES (default "2000 20000"),
# REPS runs each (default 7 in this mode), alternating which goes first.
# It prints each run's figures (stderr), then per rate the medians of
# p50 (ours from the intended send time, i.e. corrected for coordinated
# omission, and from the actual send; sockperf's from its send), of the
# per-run ratios of p50s, of p99, and of client CPU per reply (the whole
# client process, user+system from bash's `times`, over all its replies
# warm-up included), with the load average before and after: on a busy
# machine sockperf's own p50 spreads widely, and then no ratio is
# trustworthy (and a starved generator sends late, which only our p50
# from the intended time shows). LOAD_FLAGS adds flags to muxbench load
# (e.g. "-spin-reply 0").
#
# MUXBENCH=PATH uses that muxbench binary instead of building one (build
# before taking the measurement lock).
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
CLIENTS=${CLIENTS:-0}
RATES=${RATES:-2000 20000}
LOAD_FLAGS=${LOAD_FLAGS:-}
MUXBENCH=${MUXBENCH:-}
if [ "$CLIENTS" = 1 ]; then REPS=${2:-7}; fi

work=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
if [ -n "$MUXBENCH" ]; then
	cp "$MUXBENCH" "$work/muxbench"
else
	go build -o "$work/muxbench" ./cmd/muxbench
fi

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

# start_serve BACKEND: start `muxbench serve -proto sockperf` on
# SERVER_CPU; sets spid and port. Its stdin is held open on fd 9:
# stop_serve closes it, which stops the server.
start_serve() {
	local fifo="$work/ctl.$RANDOM" hello
	mkfifo "$fifo"
	"$work/muxbench" serve -backend "$1" -proto sockperf -cpus "$SERVER_CPU" <"$fifo" >"$work/serve.out" &
	spid=$!
	pids+=("$spid")
	exec 9>"$fifo"
	rm -f "$fifo" # both ends are open
	for _ in $(seq 1 200); do [ -s "$work/serve.out" ] && break; sleep 0.05; done
	hello=$(head -n1 "$work/serve.out")
	port=$(echo "$hello" | sed -n 's/.*"addr":"127.0.0.1:\([0-9]*\)".*/\1/p')
	[ -n "$port" ] || { echo "muxbench serve did not start: $hello" >&2; return 1; }
}

stop_serve() {
	exec 9>&-
	wait "$spid" || true
}

# ours BACKEND: one run against muxbench serve.
ours() {
	local port spid
	start_serve "$1"
	run_client "$port" "$spid"
	stop_serve
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

# child_cpu CMD...: run CMD (its output goes to stdout) and write the
# user+system CPU it used, in ns, to $work/cpu. bash's `times` (1 ms
# resolution) in a subshell whose only child is CMD; `times` must not run
# in a pipe or $(...), whose fork would see no children.
child_cpu() {
	(
		"$@"
		times >"$work/times"
	)
	tail -n1 "$work/times" | awk '{
		t = 0
		for (i = 1; i <= 2; i++) { split($i, p, "m"); t += p[1] * 60 + substr(p[2], 1, length(p[2]) - 1) }
		printf "%.0f\n", t * 1e9 }' >"$work/cpu"
}

# client_ours PORT RATE: one open-loop run of muxbench load; prints
# "p50_us p99_us cpu_ns_per_reply send_p50_us send_p99_us" (p50 and p99
# from the intended send time, then from the actual send).
client_ours() {
	local res cpu
	res=$(child_cpu timeout $((DURATION + 60)) "$work/muxbench" load -cpus "$CLIENT_CPU" -target "127.0.0.1:$1" \
		-proto sockperf -size "$MSG" -conns 1 -active 1 -rate "$2" -duration "${DURATION}s" -json $LOAD_FLAGS)
	cpu=$(cat "$work/cpu")
	echo "$res" | jq -e -r --argjson cpu "$cpu" 'select(.run_requests > 0 and .unanswered == 0) |
		"\(.latency_ns.p50 / 1000) \(.latency_ns.p99 / 1000) \($cpu / .run_requests) \(.service_latency_ns.p50 / 1000) \(.service_latency_ns.p99 / 1000)"' ||
		{ echo "muxbench load at $2 req/s: no requests, or some unanswered: $res" >&2; return 1; }
}

# client_sockperf PORT RATE: one run of sockperf under-load; prints
# "p50_us p99_us cpu_ns_per_reply".
client_sockperf() {
	local out cpu p50 p99 replies
	out=$(child_cpu timeout $((DURATION + 60)) taskset -c "$CLIENT_CPU" sockperf under-load --tcp -i 127.0.0.1 -p "$1" \
		--mps "$2" -m "$MSG" --reply-every 1 --full-rtt -t "$DURATION" 2>&1)
	cpu=$(cat "$work/cpu")
	p50=$(echo "$out" | sed -n 's/.*percentile 50.000 = *\([0-9.]*\).*/\1/p')
	p99=$(echo "$out" | sed -n 's/.*percentile 99.000 = *\([0-9.]*\).*/\1/p')
	replies=$(echo "$out" | sed -n 's/.*\[Total Run\].*ReceivedMessages=\([0-9]*\).*/\1/p')
	if [ -z "$p50" ] || [ -z "$replies" ] || [ "$replies" -eq 0 ]; then
		echo "sockperf under-load at $2 msg/s printed no p50 or no replies:" >&2
		echo "$out" >&2
		return 1
	fi
	echo "$p50 $p99 $((cpu / replies))"
}

# clients: the CLIENTS=1 mode (see the top of this file).
clients() {
	local port spid rate rep
	start_serve epoll-lt
	echo "open loop, 1 connection, ${MSG} B; server muxbench serve -backend epoll-lt -proto sockperf on CPU $SERVER_CPU;"
	echo "clients on CPU $CLIENT_CPU: muxbench load${LOAD_FLAGS:+ $LOAD_FLAGS} (p50 from the intended send time) and sockperf under-load;"
	echo "$REPS runs of ${DURATION}s per rate, alternating which goes first; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
	printf '%7s %9s %9s %9s %7s %7s %9s %9s %9s %9s %9s\n' rate "ours p50" "from send" sockperf ratio "(send)" "ours p99" "from send" sockperf "ours CPU" sockperf
	printf '%7s %9s %9s %9s %7s %7s %9s %9s %9s %9s %9s\n' "req/s" µs µs "p50 µs" "" "" µs µs "p99 µs" µs/reply µs/reply
	for rate in $RATES; do
		: >"$work/o"; : >"$work/t"
		for rep in $(seq 1 "$REPS"); do
			if [ $((rep % 2)) = 1 ]; then
				client_ours "$port" "$rate" >>"$work/o"
				client_sockperf "$port" "$rate" >>"$work/t"
			else
				client_sockperf "$port" "$rate" >>"$work/t"
				client_ours "$port" "$rate" >>"$work/o"
			fi
			paste -d' ' <(tail -n1 "$work/o") <(tail -n1 "$work/t") | awk -v r="$rate" -v i="$rep/$REPS" -v l="$(cut -d' ' -f1 /proc/loadavg)" \
				'{printf "%s req/s run %s: ours p50 %.1f µs (from send %.1f), p99 %.1f (%.1f); sockperf p50 %.1f, p99 %.1f; load %s\n", r, i, $1, $4, $2, $5, $6, $7, l}' >&2
		done
		# Ratios are the median of each pair's own ratio (back to back,
		# same server), not the ratio of the two medians.
		printf '%7s %9.1f %9.1f %9.1f %7.3f %7.3f %9.1f %9.1f %9.1f %9.1f %9.1f\n' "$rate" \
			"$(col 1 "$work/o" | median)" "$(col 4 "$work/o" | median)" "$(col 1 "$work/t" | median)" \
			"$(paste -d' ' "$work/o" "$work/t" | awk '$6 > 0 {printf "%.6f\n", $1 / $6}' | median)" \
			"$(paste -d' ' "$work/o" "$work/t" | awk '$6 > 0 {printf "%.6f\n", $4 / $6}' | median)" \
			"$(col 2 "$work/o" | median)" "$(col 5 "$work/o" | median)" "$(col 2 "$work/t" | median)" \
			"$(col 3 "$work/o" | median | awk '{print $1 / 1000}')" "$(col 3 "$work/t" | median | awk '{print $1 / 1000}')"
		echo "        p50 ranges µs: ours $(span 1 "$work/o"), from send $(span 4 "$work/o"), sockperf $(span 1 "$work/t")"
		echo "        p99 ranges µs: ours $(span 2 "$work/o"), from send $(span 5 "$work/o"), sockperf $(span 2 "$work/t")"
	done
	echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
	stop_serve
}

# col COLUMN FILE: one column of a file of space-separated figures.
col() { cut -d' ' -f"$1" "$2"; }

# span COLUMN FILE: min-max of a column.
span() { col "$1" "$2" | sort -g | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%.1f-%.1f", lo, hi}'; }

# range FILE: min-max of the first column, in µs.
range() { cut -d' ' -f1 "$1" | sort -n | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%.1f-%.1f", lo/1000, hi/1000}'; }

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

if [ "$CLIENTS" = 1 ]; then
	need jq jq
	clients
	exit
fi

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
