#!/usr/bin/env bash
# connmem.sh: memory per idle connection, measured on this machine, for
# docs/scaling.md. For each backend it opens N idle connections to
# `muxbench serve` with `muxbench load -active 0` and, once the server
# reports all N open, reads the server's and the generator's resident
# memory (VmRSS) and the kernel's TCP socket count and buffer pages
# (/proc/net/sockstat); the same with 1 connection gives the baseline.
#
#   flock /tmp/muxbench-measure.lock bash scripts/connmem.sh [N] [BACKEND...]
#
# Prints one line per backend and count; per-connection figures are
# (at N - at 1) / (N - 1). The kernel's own per-socket objects are not in
# VmRSS: their sizes come from /proc/slabinfo (root only), printed at the
# end. Kills only the processes it started.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

n=${1:-15000}
shift || true
backends=("${@:-epoll-lt}")
[ "${#backends[@]}" -gt 0 ] || backends=(epoll-lt)
work=$(mktemp -d)
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/muxbench" ./cmd/muxbench
bin="$work/muxbench"

rss_kib() { awk '/^VmRSS:/ {print $2}' /proc/"$1"/status; }

# measure BACKEND CONNS: prints "server_rss_kib generator_rss_kib tcp_inuse tcp_mem_pages"
measure() {
	local backend=$1 conns=$2 srv load i hello addr ctl token open line
	"$bin" serve -backend "$backend" -control tcp:127.0.0.1:0 </dev/null >"$work/serve.out" 2>"$work/serve.err" &
	srv=$!
	pids+=("$srv")
	for i in $(seq 1 100); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
	hello=$(head -n1 "$work/serve.out")
	addr=$(jq -r .addr <<<"$hello") ctl=$(jq -r .control <<<"$hello") token=$(jq -r .token <<<"$hello")
	"$bin" load -target "$addr" -conns "$conns" -active 0 -warmup 0 -duration 30s -connect-rate 20000 >/dev/null 2>"$work/load.err" &
	load=$!
	pids+=("$load")
	open=0
	for i in $(seq 1 600); do # at most 60 s until every connection is open
		exec 3<>"/dev/tcp/${ctl%:*}/${ctl##*:}"
		printf '%s stats\n' "$token" >&3
		line=$(head -n1 <&3)
		exec 3<&-
		open=$(jq .conns_open <<<"$line")
		[ "$open" -ge "$conns" ] && break
		sleep 0.1
	done
	[ "$open" -ge "$conns" ] || { echo "only $open of $conns connections open after 60 s" >&2; return 1; }
	echo "$(rss_kib "$srv") $(rss_kib "$load") $(awk '/^TCP:/ {print $3, $11}' /proc/net/sockstat)"
	kill "$load" "$srv"
	wait "$load" 2>/dev/null || true
	wait "$srv" 2>/dev/null || true
	pids=()
}

echo "backend conns server_rss_kib generator_rss_kib tcp_inuse(system) tcp_mem_pages(system)"
for b in "${backends[@]}"; do
	read -r s1 g1 t1 m1 <<<"$(measure "$b" 1)"
	read -r sn gn tn mn <<<"$(measure "$b" "$n")"
	echo "$b 1 $s1 $g1 $t1 $m1"
	echo "$b $n $sn $gn $tn $mn"
	awk -v b="$b" -v n="$n" -v s1="$s1" -v sn="$sn" -v g1="$g1" -v gn="$gn" 'BEGIN {
		printf "%s per connection: server %.0f B, generator %.0f B (user space, VmRSS)\n", b, (sn - s1) * 1024 / (n - 1), (gn - g1) * 1024 / (n - 1) }'
done
if [ -r /proc/slabinfo ]; then
	echo "kernel objects per TCP socket end (object sizes, /proc/slabinfo):"
	awk '$1 ~ /^(TCP|sock_inode_cache|filp|dentry|eventpoll_epi)$/ { printf "  %-17s %5d B\n", $1, $4; sum += $4 }
		END { printf "  %-17s %5d B (eventpoll_epi only for an fd in an epoll set)\n", "total", sum }' /proc/slabinfo
fi
