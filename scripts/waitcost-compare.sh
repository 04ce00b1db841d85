#!/usr/bin/env bash
# waitcost-compare.sh: `muxbench waitcost` against a minimal C loop making
# the same calls over the same fd layout (scripts/testdata/waitcost.c,
# compiled here with cc): N socket-pair fds, both ends watched, K of them
# readable at the lowest positions, back-to-back poll / epoll_wait /
# select with timeout 0, the same sample budget, pinned to the same CPU.
#
#   scripts/waitcost-compare.sh [REPS]
#   MODE=blocking scripts/waitcost-compare.sh [REPS]
#
# REPS (default 5) repetitions, ours and C alternating which goes first,
# so drift hits both alike. Prints per backend and N the median ns per
# call of each, the ratio of the medians (ours/C) and the range of the
# per-repetition ratios. The target is ours/C <= 1.10 for poll and epoll.
#
# MODE=blocking compares the blocking wake-up instead (`muxbench waitcost
# -mode blocking` against the C loop's -mode blocking): nothing ready, the
# waiter on CPU sleeps in its wait until a peer thread on PEER_CPU (default
# 1) has seen it asleep (its /proc/self/task/TID stat and syscall) and
# writes one byte into the lowest fd's peer; the figure is the waiter's
# thread CPU per wake-up. In both fd tables (TABLES, default "shared
# private"): shared, the C loop's two threads share one table as every Go
# thread does; private, its waiter calls unshare(CLONE_FILES) as ours
# does. MIN_CALLS then counts wake-ups (default 100), MIN_MS defaults to
# 30 and MAX_MS to 150; BACKENDS adds epoll-et.
#
# The C loop runs twice per repetition: single-threaded (C), and with one
# idle thread beside it (C+t). A multi-threaded process shares its fd
# table, so the kernel takes a reference on each file poll or select
# looks up (fdget), which a single-threaded one skips. Ours runs in both
# fd tables: its private table (the measuring thread's own, unshare
# CLONE_FILES) against C, its shared table (as every Go thread has)
# against C+t.
#
# Environment: FDS (default "10 100 1000 3000 10000 19960"), K (ready
# fds, default 1), BACKENDS (default "poll epoll-lt select"), CPU (0),
# MIN_CALLS (1000), MIN_MS (50), MAX_MS (250), LOCK (the measurement
# lock, default /tmp/muxbench-measure.lock; the script takes it itself
# around the measurements only, so do not wrap it in flock). PERF=1 also
# runs `perf bench epoll wait` once, under the lock, for reference: it
# times wake-ups (a writer thread writes to eventfds, a waiter thread's
# epoll_wait wakes for them), not back-to-back calls over ready fds.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need cc gcc
need flock util-linux
need jq jq
need python3 python3

REPS=${1:-5}
MODE=${MODE:-hot}
FDS=${FDS:-10 100 1000 3000 10000 19960}
K=${K:-1}
CPU=${CPU:-0}
PEER_CPU=${PEER_CPU:-1}
TABLES=${TABLES:-shared private}
LOCK=${LOCK:-/tmp/muxbench-measure.lock}
PERF=${PERF:-0}
case "$MODE" in
hot)
	BACKENDS=${BACKENDS:-poll epoll-lt select}
	MIN_CALLS=${MIN_CALLS:-1000}
	MIN_MS=${MIN_MS:-50}
	MAX_MS=${MAX_MS:-250}
	;;
blocking)
	BACKENDS=${BACKENDS:-poll epoll-lt epoll-et select}
	MIN_CALLS=${MIN_CALLS:-100}
	MIN_MS=${MIN_MS:-30}
	MAX_MS=${MAX_MS:-150}
	;;
*)
	echo "MODE=$MODE: want hot or blocking" >&2
	exit 2
	;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/muxbench" ./cmd/muxbench
cc -O2 -Wall -pthread -o "$work/waitcost-c" scripts/testdata/waitcost.c

comma() { echo "$*" | tr ' ' ','; }
# The C program names epoll-lt "epoll" and epoll-et "epollet".
cnames=$(comma "$(echo "$BACKENDS" | sed 's/epoll-lt/epoll/g; s/epoll-et/epollet/g')")

ours() { # rep: the hot scan in both fd tables, interleaved
	"$work/muxbench" waitcost -mode hot -fd-table private,shared -backends "$(comma "$BACKENDS")" -fds "$(comma "$FDS")" -ready "$K" -positions low \
		-sparse-highest none -reps 1 -cpu "$CPU" -min-calls "$MIN_CALLS" -min-time "${MIN_MS}ms" -max-time "${MAX_MS}ms" \
		-out "$work/ours-$1" >/dev/null 2>"$work/ours-$1.err" || { cat "$work/ours-$1.err" >&2; exit 1; }
	jq -r '.samples[] | select(.status == "ok") | "ours-\(.fd_table) \(.backend) \(.fds) \(.ns_per_call)"' "$work/ours-$1/waitcost.json" |
		awk -v rep="$1" '{ print $1, rep, $2, $3, $4 }' >>"$work/all.txt"
}
theirs() { # rep idle-threads name
	"$work/waitcost-c" -b "$cnames" -n "$(comma "$FDS")" -k "$K" -p low -cpu "$CPU" -idle-threads "$2" \
		-min-calls "$MIN_CALLS" -min-ms "$MIN_MS" -max-ms "$MAX_MS" >"$work/$3-$1.txt"
	awk -v rep="$1" -v impl="$3" '$5 ~ /^[0-9.]+$/ { b = $1; if (b == "epoll") b = "epoll-lt"; print impl, rep, b, $2, $5 }' "$work/$3-$1.txt" >>"$work/all.txt"
}

# The blocking wake-up: ours in every table of TABLES in one run
# (interleaved), the C loop once per table; rows "impl rep backend N
# table ns".
ours_blocking() { # rep
	"$work/muxbench" waitcost -mode blocking -fd-table "$(comma "$TABLES")" -backends "$(comma "$BACKENDS")" -fds "$(comma "$FDS")" \
		-positions low -sparse-highest none -reps 1 -cpu "$CPU" -peer-cpu "$PEER_CPU" -min-wakeups "$MIN_CALLS" \
		-min-time "${MIN_MS}ms" -max-time "${MAX_MS}ms" -out "$work/ours-$1" >/dev/null 2>"$work/ours-$1.err" || { cat "$work/ours-$1.err" >&2; exit 1; }
	jq -r '.samples[] | select(.status == "ok") | "\(.backend) \(.fds) \(.fd_table) \(.ns_per_call)"' "$work/ours-$1/waitcost.json" |
		sed "s/^/ours $1 /" >>"$work/all.txt"
}
theirs_blocking() { # rep table
	"$work/waitcost-c" -mode blocking -fdtable "$2" -b "$cnames" -n "$(comma "$FDS")" -k 1 -p low -cpu "$CPU" -peer-cpu "$PEER_CPU" \
		-min-calls "$MIN_CALLS" -min-ms "$MIN_MS" -max-ms "$MAX_MS" >"$work/c-$2-$1.txt"
	awk -v rep="$1" -v t="$2" '$5 ~ /^[0-9.]+$/ { b = $1; if (b == "epoll") b = "epoll-lt"; if (b == "epollet") b = "epoll-et"; print "c", rep, b, $2, t, $5 }' \
		"$work/c-$2-$1.txt" >>"$work/all.txt"
}

: >"$work/all.txt"
exec 9>>"$LOCK"
echo "waiting for $LOCK ..." >&2
flock 9
if [ "$MODE" = blocking ]; then
	echo "measuring: $REPS repetitions of ours and C, blocking wake-ups, FDS=\"$FDS\", fd tables $TABLES, waiter on CPU $CPU, peer on CPU $PEER_CPU" >&2
	for rep in $(seq 1 "$REPS"); do
		if [ $((rep % 2)) -eq 1 ]; then
			ours_blocking "$rep"
			for t in $TABLES; do theirs_blocking "$rep" "$t"; done
		else
			for t in $TABLES; do theirs_blocking "$rep" "$t"; done
			ours_blocking "$rep"
		fi
		echo "  repetition $rep of $REPS done" >&2
	done
	flock -u 9
	python3 - "$work/all.txt" "$BACKENDS" "$TABLES" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
backends, tables = sys.argv[2].split(), sys.argv[3].split()
v = {}
for impl, rep, b, n, t, ns in rows:
    v.setdefault((b, int(n), t), {}).setdefault(impl, {})[int(rep)] = float(ns)
print(f"{'backend':9} {'N':>6} {'fd table':8} {'ours ns':>11} {'C ns':>11} {'ours/C':>7}  per-rep ours/C  reps  (thread CPU per wake-up)")
for b in backends:
    for t in tables:
        for (bb, n, tt) in sorted(k for k in v if k[0] == b and k[2] == t):
            d = v[(bb, n, tt)]
            o, c = d.get("ours", {}), d.get("c", {})
            both = sorted(set(o) & set(c))
            if not both:
                print(f"{b:9} {n:>6} {t:8}   unsupported or failed in one of them")
                continue
            mo, mc = (statistics.median(x[r] for r in both) for x in (o, c))
            rr = [o[r] / c[r] for r in both]
            print(f"{b:9} {n:>6} {t:8} {mo:>11.1f} {mc:>11.1f} {mo/mc:>7.3f}  {min(rr):.3f}-{max(rr):.3f}     {len(both)}")
EOF
	exit 0
fi
echo "measuring: $REPS repetitions of ours and C, FDS=\"$FDS\" K=$K on CPU $CPU" >&2
for rep in $(seq 1 "$REPS"); do
	if [ $((rep % 2)) -eq 1 ]; then
		ours "$rep"; theirs "$rep" 0 c; theirs "$rep" 1 ct
	else
		theirs "$rep" 1 ct; theirs "$rep" 0 c; ours "$rep"
	fi
	echo "  repetition $rep of $REPS done" >&2
done
if [ "$PERF" = 1 ]; then
	need perf linux-perf
	echo >&2
	echo "perf bench epoll wait (1 waiter thread pinned, 1,000 fds, 3 s):" >&2
	perf bench epoll wait -t 1 -f 1000 -r 3 2>&1 | sed 's/^/  /'
fi
flock -u 9

python3 - "$work/all.txt" "$BACKENDS" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
backends = sys.argv[2].split()
v = {}
for impl, rep, b, n, ns in rows:
    v.setdefault((b, int(n)), {}).setdefault(impl, {})[int(rep)] = float(ns)
print(f"{'backend':9} {'N':>6} {'ours-p ns':>11} {'C ns':>11} {'ours-s ns':>11} {'C+t ns':>11} {'ours-p/C':>8} {'ours-s/C+t':>10}  per-rep ours-p/C  per-rep ours-s/C+t  reps")
for b in backends:
    for (bb, n) in sorted(k for k in v if k[0] == b):
        d = v[(bb, n)]
        op, os_, c, ct = (d.get(i, {}) for i in ("ours-private", "ours-shared", "c", "ct"))
        both = sorted(set(op) & set(os_) & set(c) & set(ct))
        if not both:
            print(f"{b:9} {n:>6}   unsupported or failed in one of them")
            continue
        mp, ms, mc, mt = (statistics.median(x[r] for r in both) for x in (op, os_, c, ct))
        rp = [op[r] / c[r] for r in both]
        rs = [os_[r] / ct[r] for r in both]
        print(f"{b:9} {n:>6} {mp:>11.1f} {mc:>11.1f} {ms:>11.1f} {mt:>11.1f} {mp/mc:>8.3f} {ms/mt:>10.3f}  {min(rp):.3f}-{max(rp):.3f}      {min(rs):.3f}-{max(rs):.3f}         {len(both)}")
EOF
