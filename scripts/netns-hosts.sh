#!/usr/bin/env bash
# netns-hosts.sh: a multi-host muxbench run on one machine. Three network
# namespaces stand for three hosts — a server and two load generators — on
# one private LAN (10.77.0.0/24, a bridge in a fourth namespace; nothing
# is added to the machine's own network). It runs, as a user would on
# real hosts:
#
#   server host:   muxbench serve -addr 10.77.0.1:0 -control tcp:10.77.0.1:0
#   each generator host, with the same -start-at:
#                  muxbench load -target ADDR ... -generators 2 -generator-index N-1 -start-at T -out genN.json
#   generator 1 adds -control ADDR -token T: it samples the server's
#   counters at its window's edges over the control port; the script
#   samples them (TOKEN stats) before the generators connect and after
#   they exit;
#   then:          muxbench merge -out merged gen1.json gen2.json
#                  muxbench report merged
#   then a sweep, each generator host with the same -start-at:
#                  muxbench run -server ADDR -control ADDR -token T -generators 2 -generator-index N-1 -start-at T -out runN sweep.yaml
#                  muxbench merge -out merged-run run1 run2
#
# and checks that the merged request count is the sum of the generators',
# and that the server's own count (bytes read / request size, between its
# stats before and after the generators) is every request the generators
# completed (their run_requests: warm-up, window and drain); and for the
# sweep, that every merged point is the sum of its shares and the server
# read every request of every point's load files.
#
#   bash scripts/netns-hosts.sh [MUXBENCH_BINARY]
#
# Without a binary it builds one from this checkout. Results stay in
# $MUXBENCH_NETNS_OUT if set, else in a temporary directory that is
# removed. Without root, CAP_NET_ADMIN or `ip` it prints "skipped: <why>"
# and exits 0. It removes every namespace and process it made, also on
# error or Ctrl-C, and kills only the PIDs it started.
set -euo pipefail
cd "$(dirname "$0")/.."

skip() {
	echo "skipped: $*"
	exit 0
}

command -v ip >/dev/null 2>&1 || skip "ip (iproute2) is not installed"
command -v jq >/dev/null 2>&1 || { echo "netns-hosts.sh: missing jq: apt-get install -y jq" >&2; exit 1; }
[ "$(id -u)" = 0 ] || skip "not root (network namespaces need CAP_NET_ADMIN; run with sudo)"

tag="mbnet$$"
NS_BR="$tag-br" NS_SRV="$tag-srv" NS_G1="$tag-g1" NS_G2="$tag-g2"
SRV_IP=10.77.0.1
made_ns=()
pids=()
work=$(mktemp -d)
keep=${MUXBENCH_NETNS_OUT:-}

nap_pid=
# nap SECONDS: sleep in the background and wait, so that a signal runs
# the cleanup at once instead of after the sleep.
nap() {
	sleep "$1" &
	nap_pid=$!
	wait "$nap_pid" || true
	nap_pid=
}
cleanup() {
	local rc=$? pid ns i
	trap - EXIT INT TERM
	[ -z "$nap_pid" ] || kill "$nap_pid" 2>/dev/null || true
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		for i in $(seq 1 50); do # at most 5 s each, then SIGKILL
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1 # a signal during cleanup is ignored (trap reset above)
		done
		kill -9 "$pid" 2>/dev/null || true
	done
	# Deleting a namespace deletes the veth ends in it, and with them
	# their peers in the bridge namespace.
	for ns in "${made_ns[@]}"; do
		ip netns del "$ns" 2>/dev/null || echo "netns-hosts.sh: could not delete namespace $ns" >&2
	done
	if [ -n "$keep" ]; then
		mkdir -p "$keep" && cp -r "$work"/. "$keep"/ && echo "results in $keep"
	fi
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Can namespaces be made here at all? (Root in a container may lack
# CAP_NET_ADMIN or have /var/run/netns read-only.)
if ! err=$(ip netns add "$NS_BR" 2>&1); then
	skip "cannot create a network namespace: $err"
fi
made_ns+=("$NS_BR")

bin=${1:-}
if [ -z "$bin" ]; then
	echo "== build muxbench"
	go build -o "$work/muxbench" ./cmd/muxbench
	bin="$work/muxbench"
fi
[ -x "$bin" ] || { echo "netns-hosts.sh: $bin is not an executable muxbench" >&2; exit 1; }
bin=$(realpath "$bin")

echo "== namespaces: $NS_SRV ($SRV_IP), $NS_G1 (10.77.0.2), $NS_G2 (10.77.0.3), bridge $NS_BR"
ip -n "$NS_BR" link add name br0 type bridge
ip -n "$NS_BR" link set br0 up
host_ns() { # NS ADDR: a host namespace with eth0 on the bridge
	ip netns add "$1"
	made_ns+=("$1")
	ip -n "$NS_BR" link add name "v-${1##*-}" type veth peer name eth0 netns "$1"
	ip -n "$NS_BR" link set "v-${1##*-}" master br0 up
	ip -n "$1" addr add "$2/24" dev eth0
	ip -n "$1" link set eth0 up
	ip -n "$1" link set lo up
}
host_ns "$NS_SRV" "$SRV_IP"
host_ns "$NS_G1" 10.77.0.2
host_ns "$NS_G2" 10.77.0.3

echo "== server host: muxbench serve -backend epoll-lt -addr $SRV_IP:0 -control tcp:$SRV_IP:0"
ip netns exec "$NS_SRV" "$bin" serve -backend epoll-lt -addr "$SRV_IP:0" -control "tcp:$SRV_IP:0" \
	</dev/null >"$work/serve.out" 2>"$work/serve.err" &
srv_pid=$!
pids+=("$srv_pid")
for i in $(seq 1 100); do # at most 10 s for the hello line
	[ -s "$work/serve.out" ] && break
	kill -0 "$srv_pid" 2>/dev/null || { echo "server exited: $(cat "$work/serve.err")" >&2; exit 1; }
	nap 0.1
done
head -n1 "$work/serve.out" >"$work/hello.json"
[ -s "$work/hello.json" ] || { echo "no hello line from the server within 10 s" >&2; exit 1; }
addr=$(jq -r .addr "$work/hello.json")
control=$(jq -r .control "$work/hello.json")
token=$(jq -r .token "$work/hello.json")
echo "server listens on $addr, control port $control"

# await_all SECONDS WHAT LOG... -- PID...: wait for every PID to exit, at
# most SECONDS for each; a PID still running, or one that failed, ends the
# script with its WHAT and the LOGs.
await_all() {
	local secs=$1 what=$2 pid i logs=()
	shift 2
	while [ "$1" != -- ]; do
		logs+=("$1")
		shift
	done
	shift
	for pid in "$@"; do
		for i in $(seq 1 $((secs * 10))); do
			kill -0 "$pid" 2>/dev/null || break
			nap 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "$what $pid still running $secs s after it started" >&2
			exit 1
		fi
		wait "$pid" || { echo "$what $pid failed:" >&2; cat "${logs[@]}" >&2; exit 1; }
	done
}

# ctl NS VERB: one control command from host NS, its reply line on
# stdout (the README's ctl), 10 s at most.
ctl() {
	timeout 10 ip netns exec "$1" bash -c 'exec 3<>"/dev/tcp/${1%:*}/${1##*:}"; printf "%s %s\n" "$2" "$3" >&3; head -n1 <&3; exec 3<&-' \
		_ "$control" "$token" "$2"
}
stats() { ctl "$1" stats; }
# The control port refuses a wrong token, from another host too.
refusal=$(token=0000 ctl "$NS_G2" stats)
echo "$refusal" | jq -e '.error | startswith("refused: wrong token")' >/dev/null ||
	{ echo "control port did not refuse a wrong token: $refusal" >&2; exit 1; }

stats "$NS_G1" >"$work/before.json"

# Both generators' windows start at one wall-clock time, far enough ahead
# for both to connect. (Across real hosts: as far ahead as ssh and
# connecting take, with NTP-synchronised clocks.) Each runs one of two
# shares of the point; generator 1 also samples the server's counters at
# its window's edges through the control port.
conns=400 active=4 rate=4000 size=64 warmup=500ms duration=2s
start_s=$(($(date +%s) + 3))
start_at=$(date -u -d "@$start_s" +%Y-%m-%dT%H:%M:%SZ)
for g in 1 2; do
	ns_var="NS_G$g"
	sample=()
	[ "$g" = 1 ] && sample=(-control "$control" -token "$token")
	echo "== generator host $g: muxbench load -target $addr -conns $conns -active $active -rate $rate -size $size -generators 2 -generator-index $((g - 1)) -warmup $warmup -duration $duration -start-at $start_at -out gen$g.json -host gen$g ${sample[*]:+-control $control -token TOKEN}"
	ip netns exec "${!ns_var}" "$bin" load -target "$addr" -conns "$conns" -active "$active" -rate "$rate" -size "$size" \
		-generators 2 -generator-index $((g - 1)) -warmup "$warmup" -duration "$duration" -start-at "$start_at" \
		-out "$work/gen$g.json" -host "gen$g" "${sample[@]}" </dev/null >"$work/gen$g.txt" 2>&1 &
	pids+=($!)
done
gen_pids=("${pids[@]:1}")

await_all 40 "generator" "$work"/gen*.txt -- "${gen_pids[@]}" # 3 s to the window, 2.5 s of traffic, the drain
stats "$NS_G1" >"$work/after.json"

echo "== muxbench merge -out merged gen1.json gen2.json"
"$bin" merge -out "$work/merged" "$work/gen1.json" "$work/gen2.json"
"$bin" report "$work/merged" >/dev/null

echo "== check the counts"
merged=$(jq '.samples[0].requests' "$work/merged/run.json")
status=$(jq -r '.samples[0].status' "$work/merged/run.json")
sum=$(jq -s 'map(.result.requests) | add' "$work/gen1.json" "$work/gen2.json")
run_sum=$(jq -s 'map(.result.run_requests) | add' "$work/gen1.json" "$work/gen2.json")
unanswered=$(jq -s 'map(.result.unanswered) | add' "$work/gen1.json" "$work/gen2.json")
bytes=$(jq -s '.[1].bytes_in - .[0].bytes_in' "$work/before.json" "$work/after.json")
server=$((bytes / size))
echo "generators: $sum window requests ($run_sum in all); merged: $merged; server: $bytes bytes read = $server requests of $size B"
fail=0
[ "$status" = ok ] || { echo "merged sample is $status: $(jq -r '.samples[0].reason' "$work/merged/run.json")" >&2; fail=1; }
[ "$unanswered" = 0 ] || { echo "$unanswered requests unanswered" >&2; fail=1; }
[ "$merged" = "$sum" ] || { echo "merged requests $merged != sum of the generators' $sum" >&2; fail=1; }
[ $((bytes % size)) = 0 ] || { echo "server read $bytes bytes, not a whole number of $size-byte requests" >&2; fail=1; }
[ "$server" = "$run_sum" ] || { echo "server counted $server requests != the generators' $run_sum" >&2; fail=1; }
[ "$sum" -gt 0 ] || { echo "no requests measured" >&2; fail=1; }
srv_open=$(jq '.samples[0].server.conns_open' "$work/merged/run.json")
[ "$srv_open" = "$conns" ] || { echo "merged run: the server had $srv_open connections open at generator 1's window end, want $conns" >&2; fail=1; }

# A sweep of the same server: each generator host runs `muxbench run
# -server` with its share of every point; the copies meet at each
# sample's slot, computed alike from the common -start-at.
cat >"$work/sweep.yaml" <<'YAML'
name: netns-sweep
description: "two generators in two namespaces share every point of one remote server"
backends: [epoll-lt]
fds: [42, 202]
active: 4
rate: 2000
warmup: 200ms
duration: 1s
repetitions: 1
YAML
stats "$NS_G1" >"$work/sweep-before.json"
start_s=$(($(date +%s) + 3))
start_at=$(date -u -d "@$start_s" +%Y-%m-%dT%H:%M:%SZ)
run_pids=()
for g in 1 2; do
	ns_var="NS_G$g"
	echo "== generator host $g: muxbench run -server $addr -control $control -token TOKEN -generators 2 -generator-index $((g - 1)) -start-at $start_at -setup 1s -host gen$g -out run$g -no-report sweep.yaml"
	ip netns exec "${!ns_var}" "$bin" run -server "$addr" -control "$control" -token "$token" \
		-generators 2 -generator-index $((g - 1)) -start-at "$start_at" -setup 1s -host "gen$g" \
		-out "$work/run$g" -no-report "$work/sweep.yaml" </dev/null >"$work/run$g.txt" 2>&1 &
	pids+=($!)
	run_pids+=($!)
done
await_all 60 "generator sweep" "$work"/run*.txt -- "${run_pids[@]}" # 3 s to the first slot, two slots of about 4.5 s
stats "$NS_G1" >"$work/sweep-after.json"

echo "== muxbench merge -out merged-run run1 run2"
"$bin" merge -out "$work/merged-run" "$work/run1" "$work/run2"
"$bin" report "$work/merged-run" >/dev/null

echo "== check the sweep's counts"
points=$(jq '.samples | length' "$work/merged-run/run.json")
not_ok=$(jq -r '[.samples[] | select(.status != "ok") | "\(.fds) fds: \(.status): \(.reason)"] | join("; ")' "$work/merged-run/run.json")
[ "$points" = 2 ] || { echo "merged sweep has $points samples, want 2" >&2; fail=1; }
[ -z "$not_ok" ] || { echo "merged sweep: $not_ok" >&2; fail=1; }
for k in 0 1; do
	m=$(jq ".samples[$k].requests" "$work/merged-run/run.json")
	s1=$(jq ".samples[$k].requests" "$work/run1/run.json")
	s2=$(jq ".samples[$k].requests" "$work/run2/run.json")
	[ "$m" = $((s1 + s2)) ] || { echo "sweep sample $k: merged $m requests != the generators' $s1 + $s2" >&2; fail=1; }
	echo "sweep sample $k: $(jq -r ".samples[$k].fds" "$work/merged-run/run.json") fds: $s1 + $s2 = $m requests merged"
done
sweep_sum=$(jq -s 'map(.result.run_requests) | add' "$work"/run1/loads/*.json "$work"/run2/loads/*.json)
sweep_bytes=$(jq -s '.[1].bytes_in - .[0].bytes_in' "$work/sweep-before.json" "$work/sweep-after.json")
[ "$sweep_bytes" = $((sweep_sum * size)) ] || { echo "sweep: server read $sweep_bytes bytes = $((sweep_bytes / size)) requests; the generators completed $sweep_sum" >&2; fail=1; }
echo "sweep: server read $((sweep_bytes / size)) requests = every request the generators completed ($sweep_sum)"

# Stop the server through its control port, as a remote user would.
ctl "$NS_G1" quit
for i in $(seq 1 100); do # at most 10 s
	kill -0 "$srv_pid" 2>/dev/null || break
	nap 0.1
done
wait "$srv_pid" || { echo "server exited with an error: $(cat "$work/serve.err")" >&2; fail=1; }
refused=$(tail -n1 "$work/serve.out" | jq '.control_refused // 0')
[ "$refused" = 1 ] || { echo "server counted $refused refused control commands; want 1" >&2; fail=1; }
[ "$fail" = 0 ] || exit 1
echo "netns-hosts.sh: ok: 2 generators, $merged requests merged = their sum; server read $server = every request they completed; a 2-point sweep of run -server merged likewise"
