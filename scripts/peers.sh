#!/usr/bin/env bash
# peers.sh: real servers under the same sweep as muxbench's own loop. nginx
# (one worker, a keep-alive location with a fixed body, HTTP/1.1 GET) and
# redis-server (PING) are each started for every sample with `muxbench run
# -exec`, pinned to CPU 0 like the built-in backends, swept from 10 to
# 19,960 fds with 1 and 32 active connections at 2,000 req/s, 3
# repetitions; then the built-in epoll-lt runs the same sweep (echo) and
# `muxbench report` draws all three side by side.
#
#   apt-get update && apt-get install -y nginx redis-server
#   flock /tmp/muxbench-measure.lock scripts/peers.sh [OUT] [MUXBENCH_BINARY]
#
# OUT (default results/peers-YYYYMMDD-HHMMSS) gets nginx/, redis/ and
# epoll-lt/, one results directory each, and the side-by-side report.md
# and charts. PEERS="nginx" (any of nginx redis epoll-lt) runs only
# those, and the report draws what OUT holds. PEERS_QUICK=1 runs two fd
# counts, 1 active, 1 repetition
# (about a minute), to check the set-up. Without nginx or redis-server it
# prints "skipped: ..." and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for cmd in nginx redis-server; do
	command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "skipped: ${missing[*]} not installed (apt-get update && apt-get install -y nginx redis-server)"
	exit 0
fi

out=${1:-results/peers-$(date +%Y%m%d-%H%M%S)}
bin=${2:-}
# PEERS (default "nginx redis epoll-lt") picks the runs, e.g. PEERS=nginx
# to run one again into its own OUT.
peers=${PEERS:-nginx redis epoll-lt}
for p in $peers; do
	case $p in
	nginx | redis | epoll-lt) ;;
	*) echo "peers.sh: PEERS: unknown run '$p' (want some of: nginx redis epoll-lt)" >&2; exit 2 ;;
	esac
done
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
	echo "peers.sh: $out is not empty; give a new directory" >&2
	exit 2
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

work=$(mktemp -d)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "$bin" ]; then
	go build -o "$work/muxbench" ./cmd/muxbench
	bin="$work/muxbench"
fi

if [ "${PEERS_QUICK:-}" = 1 ]; then
	fds="[12, 1002]" active="[1]" reps=1 warmup=300ms duration=1s
	desc="quick check (PEERS_QUICK=1): 12 and 1,002 fds, 1 active at 2000 req/s, 1 repetition"
else
	# idle-sweep's fd counts (19,960: RLIMIT_NOFILE 20,000 less what each
	# process holds of its own).
	fds="[10, 30, 100, 300, 1010, 3000, 10000, 19960]" active="[1, 32]" reps=3 warmup=1s duration=3s
	desc="10 to 19,960 fds, 1 and 32 active at 2000 req/s, 3 repetitions"
fi

# scenario NAME LINE...: one scenario file per protocol, the same sweep,
# with the protocol's lines added.
scenario() {
	local name=$1
	shift
	{
		cat <<-YAML
			name: peers
			description: "nginx and redis-server (-exec) beside muxbench's epoll-lt: $desc"
			fds: $fds
			active: $active
			mode: open
			rate: 2000
			warmup: $warmup
			duration: $duration
			repetitions: $reps
			server_cpus: "0"
			client_cpus: "1"
		YAML
		printf '%s\n' "$@"
	} >"$work/$name.yaml"
}
scenario http "proto: http" "path: /"
scenario redis "proto: redis"
scenario echo "proto: echo" "size: 64" "backends: [epoll-lt]"

# nginx: one worker; its fd limit at the largest point's (19,958
# connections and its listener; the hard limit here is 20,000), and its
# connection slots well above it: once fewer than 1/16 of worker_connections
# are free, nginx closes idle connections to reuse their slots ("worker
# connections are not enough, reusing connections"), which with 20,000
# slots left ~2,000 of 19,958 open. Idle connections that never send a
# request wait up to client_header_timeout, and keep-alive lasts as long as
# a sweep, for as many requests; a fixed body (return sets Content-Length). The port is the sample's: the
# config is written per start by sh, which then becomes nginx (exec).
mkdir -p "$work/nginx/tmp"
cat >"$work/nginx/nginx.conf.in" <<-NGINX
	worker_processes 1;
	worker_rlimit_nofile 20000;
	daemon off;
	pid $work/nginx/nginx-@PORT@.pid;
	error_log stderr warn;
	events { worker_connections 32768; }
	http {
	  access_log off;
	  client_body_temp_path $work/nginx/tmp;
	  proxy_temp_path $work/nginx/tmp;
	  fastcgi_temp_path $work/nginx/tmp;
	  uwsgi_temp_path $work/nginx/tmp;
	  scgi_temp_path $work/nginx/tmp;
	  client_header_timeout 600s;
	  keepalive_requests 1000000000;
	  keepalive_timeout 600s;
	  server {
	    listen 127.0.0.1:@PORT@ backlog=4096;
	    location / { default_type text/plain; return 200 "hello\n"; }
	  }
	}
NGINX
nginx_cmd="sh -c 'sed s/@PORT@/{port}/g $work/nginx/nginx.conf.in >$work/nginx/nginx-{port}.conf && exec nginx -e stderr -p $work/nginx -c $work/nginx/nginx-{port}.conf'"

# redis-server: no persistence, clients up to the largest point, not in
# protected mode (the load generator connects from 127.0.0.2 and up past
# ~1,760 connections, which protected mode refuses), log to stdout (which
# the run discards) at warnings only.
mkdir -p "$work/redis"
redis_cmd="redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no --protected-mode no --maxclients 20000 --daemonize no --dir $work/redis --loglevel warning"

# A run whose samples failed exits non-zero; the next still runs, and the
# script exits with the last such status once the report is written.
status=0
step() {
	"$@" || {
		status=$?
		echo "peers.sh: exit $status from: $*" >&2
	}
}
echo "peers.sh: $(nginx -v 2>&1), $(redis-server --version | cut -d' ' -f1-3); results in $out" >&2
for p in $peers; do
	case $p in
	nginx) step "$bin" run -exec "$nginx_cmd" -name nginx -out "$out/nginx" "$work/http.yaml" ;;
	redis) step "$bin" run -exec "$redis_cmd" -name redis -out "$out/redis" "$work/redis.yaml" ;;
	epoll-lt) step "$bin" run -out "$out/epoll-lt" "$work/echo.yaml" ;;
	esac
done
labels=() dirs=()
for p in epoll-lt nginx redis; do
	[ -f "$out/$p/run.json" ] && labels+=("$p") dirs+=("$out/$p")
done
if [ ${#dirs[@]} -gt 0 ]; then
	# -force: OUT holds the run directories (it was empty when we began),
	# and report -out refuses a directory that holds anything without it.
	"$bin" report -force -out "$out" -labels "$(IFS=,; echo "${labels[*]}")" "${dirs[@]}" &&
		echo "peers.sh: side by side: $out/report.md" >&2 ||
		{
			status=$?
			echo "peers.sh: exit $status from the side-by-side report" >&2
		}
fi
exit "$status"
