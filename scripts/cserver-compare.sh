#!/usr/bin/env bash
# cserver-compare.sh: server CPU per request of muxbench's poll, select,
# epoll-lt and epoll-et loops against single-threaded C servers of the same
# loop (scripts/testdata/cserver.c), driven alike by `muxbench load`: closed
# loop, 1 active connection beside IDLE idle ones (default 1,000). Server
# on SERVER_CPU (0), generator on CLIENT_CPU (1).
#
#   scripts/cserver-compare.sh [DURATION_SECONDS] [REPS]
#
# Per backend it prints the median over REPS (default 7) runs, ours and C
# interleaved (which goes first alternates), of server CPU µs per request
# on the whole process (every thread: what `top` shows; ours includes the
# Go runtime's threads) and on the loop thread (the thread that used the
# most CPU in the run: the C server's only one, ours the loop's), and the
# ratios ours / C of those medians with each side's min–max. The bars of
# the project are ours / C ≤ 1.05 for every backend.
#
# CPU is read from /proc/PID/task/*/schedstat around the active load
# (its connect, warm-up and window) and divided by every request it made
# (run_requests: warm-up included), so both sides are counted over the
# same span. The idle connections are opened first, by another `muxbench
# load -active 0`, and the server is proven to hold them (wait_fds, which
# counts every fd table: ours keeps its connections in its loop thread's
# own) before the active load starts.
#
# BACKENDS (default "poll:poll select:select epoll-lt:epoll
# epoll-et:epollet") pairs muxbench backends with cserver modes: give
# poll-sharedfd:poll to compare the shared fd table. The script takes
# LOCK (default /tmp/muxbench-measure.lock) itself around the measuring
# only (builds happen before), so do not wrap it in flock.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need cc gcc
need flock util-linux
need jq jq
need taskset util-linux
need ss iproute2

DURATION=${1:-5}
REPS=${2:-7}
IDLE=${IDLE:-1000}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
BACKENDS=${BACKENDS:-poll:poll select:select epoll-lt:epoll epoll-et:epollet}
LOCK=${LOCK:-/tmp/muxbench-measure.lock}
case "$DURATION$REPS" in *[!0-9]*)
	echo "usage: scripts/cserver-compare.sh [DURATION_SECONDS] [REPS]: whole numbers" >&2
	exit 2
	;;
esac

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
cc -O2 -Wall -o "$work/cserver" scripts/testdata/cserver.c

# threads_ns PID: "tid ns" per thread of PID (schedstat's time on CPU).
threads_ns() {
	local t
	for t in /proc/"$1"/task/*; do
		echo "${t##*/} $(cut -d' ' -f1 "$t/schedstat" 2>/dev/null || echo 0)"
	done
}

# measure PORT PID: populate and drive the server; prints
# "process_ns_per_req thread_ns_per_req".
measure() {
	local port=$1 pid=$2 idle res reqs
	taskset -c "$CLIENT_CPU" "$work/muxbench" load -target "127.0.0.1:$port" -conns "$IDLE" -active 0 -mode closed \
		-duration $((DURATION + 30))s >"$work/idle.out" 2>&1 &
	idle=$!
	pids+=("$idle")
	wait_fds "$pid" "$IDLE" || { cat "$work/idle.out" >&2; return 1; }
	threads_ns "$pid" >"$work/t0"
	res=$("$work/muxbench" load -cpus "$CLIENT_CPU" -target "127.0.0.1:$port" -mode closed -conns 1 -active 1 \
		-warmup 500ms -duration "${DURATION}s" -json)
	threads_ns "$pid" >"$work/t1"
	kill "$idle" 2>/dev/null || true
	wait "$idle" 2>/dev/null || true
	reqs=$(echo "$res" | jq -e 'select(.run_requests > 0 and .unanswered == 0) | .run_requests') ||
		{ echo "muxbench load against port $port: no requests, or some unanswered: $res" >&2; return 1; }
	# A thread that ended in between counts what it had used by t0 as lost;
	# the loop threads live through the run.
	join "$work/t0" "$work/t1" | awk -v r="$reqs" '{ d = $3 - $2; s += d; if (d > m) m = d }
		END { printf "%.0f %.0f\n", s / r, m / r }'
}

# ours BACKEND: one run against `muxbench serve`, its stdin held open on fd
# 8 (closing it stops the server).
ours() {
	local fifo="$work/ctl" hello port spid
	mkfifo "$fifo"
	"$work/muxbench" serve -backend "$1" -cpus "$SERVER_CPU" <"$fifo" >"$work/serve.out" &
	spid=$!
	pids+=("$spid")
	exec 8>"$fifo"
	rm -f "$fifo"
	for _ in $(seq 1 200); do [ -s "$work/serve.out" ] && break; sleep 0.05; done
	hello=$(head -n1 "$work/serve.out")
	port=$(echo "$hello" | sed -n 's/.*"addr":"127.0.0.1:\([0-9]*\)".*/\1/p')
	[ -n "$port" ] || { echo "muxbench serve -backend $1 did not start: $hello" >&2; return 1; }
	measure "$port" "$spid"
	exec 8>&-
	wait "$spid" || true
}

# theirs MODE: one run against the C server.
theirs() {
	local port spid
	port=$(free_port)
	taskset -c "$SERVER_CPU" "$work/cserver" "$1" "$port" &
	spid=$!
	pids+=("$spid")
	wait_listen "$port"
	measure "$port" "$spid"
	kill "$spid"
	wait "$spid" 2>/dev/null || true
}

: >"$work/all.txt"
exec 9>>"$LOCK"
echo "waiting for $LOCK ..." >&2
flock 9
echo "measuring: $REPS interleaved runs of ${DURATION}s per backend, $IDLE idle + 1 active, closed loop; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for rep in $(seq 1 "$REPS"); do
	for pair in $BACKENDS; do
		b=${pair%%:*} m=${pair##*:}
		if [ $((rep % 2)) -eq 1 ]; then
			echo "ours $b $rep $(ours "$b")" >>"$work/all.txt"
			echo "c $b $rep $(theirs "$m")" >>"$work/all.txt"
		else
			echo "c $b $rep $(theirs "$m")" >>"$work/all.txt"
			echo "ours $b $rep $(ours "$b")" >>"$work/all.txt"
		fi
	done
	echo "  run $rep of $REPS done" >&2
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
flock -u 9

python3 - "$work/all.txt" "$BACKENDS" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if len(l.split()) == 5]
pairs = [p.split(":") for p in sys.argv[2].split()]
v = {}
for impl, b, rep, proc, thr in rows:
    v.setdefault((b, impl), []).append((float(proc) / 1000, float(thr) / 1000))
print(f"{'backend':18} {'C mode':8} {'ours proc':>10} {'C proc':>8} {'ratio':>6} {'ours thr':>9} {'C thr':>8} {'ratio':>6}  runs  ranges µs/req: ours proc | C proc | ours thr | C thr")
for b, m in pairs:
    o, c = v.get((b, "ours"), []), v.get((b, "c"), [])
    if not o or not c:
        print(f"{b:18} {m:8} no runs")
        continue
    mo, mc = [statistics.median(x[i] for x in o) for i in (0, 1)], [statistics.median(x[i] for x in c) for i in (0, 1)]
    rng = lambda xs, i: f"{min(x[i] for x in xs):.2f}-{max(x[i] for x in xs):.2f}"
    print(f"{b:18} {m:8} {mo[0]:>10.2f} {mc[0]:>8.2f} {mo[0]/mc[0]:>6.3f} {mo[1]:>9.2f} {mc[1]:>8.2f} {mo[1]/mc[1]:>6.3f}  {len(o)}/{len(c)}  {rng(o,0)} | {rng(c,0)} | {rng(o,1)} | {rng(c,1)}")
print("µs of server CPU per request, medians; proc: every thread of the process; thr: the loop thread. Bars: ratio <= 1.05.")
PY
echo "load average after: $load_after"
