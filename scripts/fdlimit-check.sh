#!/usr/bin/env bash
# fdlimit-check.sh: the full-size fd-limit check. For each backend, a
# server with RLIMIT_NOFILE NOFILE (default 20000) is offered CONNS
# (default 21000) connections from two client processes, and the script
# records:
#
#   - whether the server settles: every connection held or shed;
#   - the server's CPU over a 1 s window at the limit (its own getrusage,
#     from the stats report; a server spinning on EMFILE uses a whole core);
#   - that every connection it holds still echoes, and that the excess is
#     closed (EOF or reset) within PROBE_S seconds rather than left
#     unanswered in the accept queue;
#   - recovery: once the clients close the held connections, a new
#     connection is served.
#
#   scripts/fdlimit-check.sh [BACKEND...]   (default: every backend but select)
#
# select is left out by default: it rejects fds >= FD_SETSIZE (1024)
# itself, long before 20000 (server/fdlimit_test.go covers it below 1024).
# Exits 1 if any backend fails a check.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need jq jq
need python3 python3

NOFILE=${NOFILE:-20000}
CONNS=${CONNS:-21000}
PROBE_S=${PROBE_S:-5}
CPU_MAX_PCT=${CPU_MAX_PCT:-30}

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/muxbench" ./cmd/muxbench

# The client: opens N connections (each bound to a 127.0.SRC.x address, so
# the port ranges do not fill), prints "connected N", then obeys stdin:
# "probe" sends a message on every connection and prints how many were
# echoed, closed or neither within PROBE_S s; "close" (or EOF) closes all.
cat >"$tmp/client.py" <<'EOF'
import errno, selectors, socket, sys, time
host, port, n, src, probe_s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
IP_BIND_ADDRESS_NO_PORT = 24
conns = []
end = time.monotonic() + 120
for i in range(n):
    if time.monotonic() > end:
        print("connect: only %d of %d connections in 120 s" % (i, n), flush=True)
        sys.exit(1)
    s = socket.socket()
    s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
    s.bind(("127.0.%d.%d" % (src, 1 + i % 250), 0))
    s.settimeout(10)
    s.connect((host, port))
    s.setblocking(False)
    conns.append(s)
print("connected %d" % n, flush=True)

def probe():
    sel = selectors.EpollSelector()
    got, echoed, closed = {}, 0, 0
    for i, s in enumerate(conns):
        msg = b"probe%07d\n" % i
        try:
            s.send(msg)
        except OSError:
            closed += 1
            continue
        got[s] = (msg, b"")
        sel.register(s, selectors.EVENT_READ)
    deadline = time.monotonic() + probe_s
    while got and time.monotonic() < deadline:
        for key, _ in sel.select(max(0.0, deadline - time.monotonic())):
            s = key.fileobj
            msg, have = got[s]
            try:
                b = s.recv(64)
            except BlockingIOError:
                continue
            except OSError:
                b = b""
            if not b:
                closed += 1
            elif have + b == msg:
                echoed += 1
            elif msg.startswith(have + b):
                got[s] = (msg, have + b)
                continue
            else:
                print("mismatch on a connection: %r" % (have + b), flush=True)
            sel.unregister(s)
            del got[s]
    print("probe echoed=%d closed=%d hung=%d" % (echoed, closed, len(got)), flush=True)

for line in sys.stdin:
    if line.strip() == "probe":
        probe()
    elif line.strip() == "close":
        break
for s in conns:
    s.close()
print("done", flush=True)
EOF

# wait_line FILE PATTERN SECONDS: wait until FILE has a line matching
# PATTERN and print the last such line.
wait_line() {
	local i
	for i in $(seq 1 $(($3 * 20))); do
		if grep -q -- "$2" "$1" 2>/dev/null; then
			grep -- "$2" "$1" | tail -n 1
			return 0
		fi
		sleep 0.05
	done
	echo "no line matching '$2' in $1 after $3 s" >&2
	return 1
}

# stats: ask the server for a report and print it (the next stats line).
stats() {
	local n i
	n=$(grep -c '"conns_open"' "$tmp/server.out" || true)
	echo stats >&3
	for i in $(seq 1 100); do
		if [ "$(grep -c '"conns_open"' "$tmp/server.out" || true)" -gt "$n" ]; then
			grep '"conns_open"' "$tmp/server.out" | tail -n 1
			return 0
		fi
		sleep 0.05
	done
	echo "server sent no stats within 5 s" >&2
	return 1
}

check_backend() {
	local backend=$1 spid c1 c2 hello port r r0 r1 cpu settled ok=1 i
	rm -f "$tmp"/*.fifo "$tmp"/*.out
	mkfifo "$tmp/server.fifo" "$tmp/c1.fifo" "$tmp/c2.fifo" "$tmp/c3.fifo"
	(ulimit -n "$NOFILE" && exec "$tmp/muxbench" serve -backend "$backend" -addr 127.0.0.1:0) \
		<"$tmp/server.fifo" >"$tmp/server.out" 2>"$tmp/server.err" &
	spid=$!
	pids+=("$spid")
	exec 3>"$tmp/server.fifo"
	hello=$(wait_line "$tmp/server.out" '"addr"' 10)
	port=$(jq -r '.addr | sub(".*:"; "")' <<<"$hello")
	echo "== $backend (pid $spid, RLIMIT_NOFILE $(jq .nofile_soft <<<"$hello"), $CONNS connections offered)"

	python3 "$tmp/client.py" 127.0.0.1 "$port" $((CONNS / 2)) 1 "$PROBE_S" <"$tmp/c1.fifo" >"$tmp/c1.out" 2>&1 &
	c1=$!
	pids+=("$c1")
	exec 4>"$tmp/c1.fifo"
	python3 "$tmp/client.py" 127.0.0.1 "$port" $((CONNS - CONNS / 2)) 2 "$PROBE_S" <"$tmp/c2.fifo" >"$tmp/c2.out" 2>&1 &
	c2=$!
	pids+=("$c2")
	exec 5>"$tmp/c2.fifo"
	wait_line "$tmp/c1.out" '^connected' 130 >/dev/null
	wait_line "$tmp/c2.out" '^connected' 130 >/dev/null

	settled=no
	for i in $(seq 1 300); do # at most 30 s
		r=$(stats)
		if [ $(($(jq '.conns_open + .conns_rejected' <<<"$r"))) -ge "$CONNS" ]; then
			settled=yes
			break
		fi
		sleep 0.1
	done
	echo "settled (every connection held or shed): $settled; held $(jq .conns_open <<<"$r"), shed $(jq .conns_rejected <<<"$r"), accept errors $(jq .errors.accept <<<"$r")"
	[ "$settled" = yes ] || ok=0

	r0=$(stats)
	sleep 1 # the measurement window
	r1=$(stats)
	cpu=$(jq -n --argjson a "$r0" --argjson b "$r1" \
		'(($b.user_ns + $b.sys_ns - $a.user_ns - $a.sys_ns) * 100 / ($b.mono_ns - $a.mono_ns)) | floor')
	echo "CPU at the limit: ${cpu}% of a core over 1 s (accept errors $(jq .errors.accept <<<"$r0") -> $(jq .errors.accept <<<"$r1"); $(jq -n --argjson a "$r0" --argjson b "$r1" '"\($b.waits - $a.waits) waits, \(($b.waits_interrupted // 0) - ($a.waits_interrupted // 0)) interrupted"' -r))"
	[ "$cpu" -lt "$CPU_MAX_PCT" ] || ok=0

	echo probe >&4
	echo probe >&5
	local p1 p2 echoed closed hung
	p1=$(wait_line "$tmp/c1.out" '^probe' $((PROBE_S + 30)))
	p2=$(wait_line "$tmp/c2.out" '^probe' $((PROBE_S + 30)))
	echoed=$(($(sed 's/.*echoed=\([0-9]*\).*/\1/' <<<"$p1") + $(sed 's/.*echoed=\([0-9]*\).*/\1/' <<<"$p2")))
	closed=$(($(sed 's/.*closed=\([0-9]*\).*/\1/' <<<"$p1") + $(sed 's/.*closed=\([0-9]*\).*/\1/' <<<"$p2")))
	hung=$(($(sed 's/.*hung=\([0-9]*\).*/\1/' <<<"$p1") + $(sed 's/.*hung=\([0-9]*\).*/\1/' <<<"$p2")))
	r=$(stats)
	echo "probe within ${PROBE_S} s: $echoed echoed (server holds $(jq .conns_open <<<"$r")), $closed closed, $hung neither"
	[ "$hung" -eq 0 ] && [ "$echoed" -eq "$(jq .conns_open <<<"$r")" ] && [ "$echoed" -gt 0 ] || ok=0
	if grep -q mismatch "$tmp/c1.out" "$tmp/c2.out"; then
		echo "echo mismatches: $(grep -h mismatch "$tmp/c1.out" "$tmp/c2.out" | head -n 3)"
		ok=0
	fi

	echo close >&4
	echo close >&5
	exec 4>&- 5>&-
	wait_line "$tmp/c1.out" '^done' 30 >/dev/null
	wait_line "$tmp/c2.out" '^done' 30 >/dev/null
	wait "$c1" "$c2" || true
	local open=-1
	for i in $(seq 1 300); do # at most 30 s
		r=$(stats)
		open=$(jq .conns_open <<<"$r")
		[ "$open" -eq 0 ] && break
		sleep 0.1
	done
	python3 "$tmp/client.py" 127.0.0.1 "$port" 10 3 "$PROBE_S" <"$tmp/c3.fifo" >"$tmp/c3.out" 2>&1 &
	pids+=("$!")
	exec 6>"$tmp/c3.fifo"
	wait_line "$tmp/c3.out" '^connected' 30 >/dev/null
	echo probe >&6
	p1=$(wait_line "$tmp/c3.out" '^probe' $((PROBE_S + 10)))
	echo close >&6
	exec 6>&-
	echo "recovery: held connections closed (server holds $open), then 10 new ones: ${p1#probe }"
	[ "$open" -eq 0 ] && grep -q 'echoed=10 ' <<<"$p1" || ok=0

	exec 3>&-
	for i in $(seq 1 100); do
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$spid" 2>/dev/null || true
	wait "$spid" || true
	if [ "$ok" -eq 1 ]; then
		echo "$backend: PASS"
	else
		echo "$backend: FAIL"
	fi
	return $((1 - ok))
}

backends=("$@")
if [ ${#backends[@]} -eq 0 ]; then
	# The BACKEND table of `muxbench list`: after its header, up to the blank line.
	mapfile -t backends < <("$tmp/muxbench" list | awk 'NR == 1 {next} NF == 0 {exit} $1 != "select" {print $1}')
fi
failed=()
for b in "${backends[@]}"; do
	check_backend "$b" || failed+=("$b")
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "FAIL: ${failed[*]}"
	exit 1
fi
echo "PASS: ${backends[*]}"
