#!/usr/bin/env bash
# waitcost-compare.sh: `muxbench waitcost` against a minimal C loop making
# the same calls over the same fd layout (scripts/testdata/waitcost.c,
# compiled here with cc): N socket-pair fds, both ends watched, K of them
# readable at the lowest positions, back-to-back poll / epoll_wait /
# select with timeout 0, the same sample budget, pinned to the same CPU.
#
#   scripts/waitcost-compare.sh [REPS]
#
# REPS (default 5) repetitions, ours and C alternating which goes first,
# so drift hits both alike. Prints per backend and N the median ns per
# call of each, the ratio of the medians (ours/C) and the range of the
# per-repetition ratios. The target is ours/C <= 1.10 for poll and epoll.
#
# The C loop runs twice per repetition: single-threaded (C), and with one
# idle thread beside it (C+t). A multi-threaded process shares its fd
# table, so the kernel takes a reference on each file poll or select
# looks up (fdget), which a single-threaded one skips; a Go process always
# has several threads, so C+t is the like-for-like comparison and C the
# floor.
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
FDS=${FDS:-10 100 1000 3000 10000 19960}
K=${K:-1}
BACKENDS=${BACKENDS:-poll epoll-lt select}
CPU=${CPU:-0}
MIN_CALLS=${MIN_CALLS:-1000}
MIN_MS=${MIN_MS:-50}
MAX_MS=${MAX_MS:-250}
LOCK=${LOCK:-/tmp/muxbench-measure.lock}
PERF=${PERF:-0}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/muxbench" ./cmd/muxbench
cc -O2 -Wall -pthread -o "$work/waitcost-c" scripts/testdata/waitcost.c

comma() { echo "$*" | tr ' ' ','; }
# The C program names epoll-lt "epoll".
cnames=$(comma "$(echo "$BACKENDS" | sed 's/epoll-lt/epoll/g')")

ours() { # rep
	"$work/muxbench" waitcost -backends "$(comma "$BACKENDS")" -fds "$(comma "$FDS")" -ready "$K" -positions low \
		-sparse-highest none -reps 1 -cpu "$CPU" -min-calls "$MIN_CALLS" -min-time "${MIN_MS}ms" -max-time "${MAX_MS}ms" \
		-out "$work/ours-$1" >/dev/null 2>"$work/ours-$1.err" || { cat "$work/ours-$1.err" >&2; exit 1; }
	jq -r '.samples[] | select(.status == "ok") | "\(.backend) \(.fds) \(.ns_per_call)"' "$work/ours-$1/waitcost.json" |
		sed "s/^/ours $1 /" >>"$work/all.txt"
}
theirs() { # rep idle-threads name
	"$work/waitcost-c" -b "$cnames" -n "$(comma "$FDS")" -k "$K" -p low -cpu "$CPU" -idle-threads "$2" \
		-min-calls "$MIN_CALLS" -min-ms "$MIN_MS" -max-ms "$MAX_MS" >"$work/$3-$1.txt"
	awk -v rep="$1" -v impl="$3" '$5 ~ /^[0-9.]+$/ { b = $1; if (b == "epoll") b = "epoll-lt"; print impl, rep, b, $2, $5 }' "$work/$3-$1.txt" >>"$work/all.txt"
}

: >"$work/all.txt"
exec 9>>"$LOCK"
echo "waiting for $LOCK ..." >&2
flock 9
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
print(f"{'backend':9} {'N':>6} {'ours ns':>11} {'C ns':>11} {'C+t ns':>11} {'ours/C':>7} {'ours/C+t':>8}  per-rep ours/C+t  reps")
for b in backends:
    for (bb, n) in sorted(k for k in v if k[0] == b):
        d = v[(bb, n)]
        o, c, ct = d.get("ours", {}), d.get("c", {}), d.get("ct", {})
        both = sorted(set(o) & set(c) & set(ct))
        if not both:
            print(f"{b:9} {n:>6}   unsupported or failed in one of them")
            continue
        mo, mc, mt = (statistics.median(x[r] for r in both) for x in (o, c, ct))
        rr = [o[r] / ct[r] for r in both]
        print(f"{b:9} {n:>6} {mo:>11.1f} {mc:>11.1f} {mt:>11.1f} {mo/mc:>7.3f} {mo/mt:>8.3f}  {min(rr):.3f}-{max(rr):.3f}     {len(both)}")
EOF
