# Shared helpers for muxbench scripts (sourced, not run).

# free_port prints a TCP port nothing on 127.0.0.1 listens on (bounded
# tries), below the ephemeral range (32768.. by default) so no client
# connection, open or in TIME_WAIT, holds it as its local port.
free_port() {
	local port tries
	for tries in $(seq 1 50); do
		port=$((10000 + RANDOM % 20000))
		if ! ss -Hltn "sport = :$port" | grep -q .; then
			echo "$port"
			return 0
		fi
	done
	echo "free_port: no free port found in 50 tries" >&2
	return 1
}

# wait_listen PORT: wait (at most 10 s) until something listens on PORT.
wait_listen() {
	local i
	for i in $(seq 1 200); do
		if ss -Hltn "sport = :$1" | grep -q .; then
			return 0
		fi
		sleep 0.05
	done
	echo "wait_listen: nothing listens on port $1 after 10 s" >&2
	return 1
}

# wait_fds PID N: wait (at most 30 s) until process PID holds at least N
# open fds in one fd table — a server has then accepted that many
# connections. Every thread's table is counted (/proc/PID/task/TID/fd):
# muxbench's loop thread keeps its connections in a table of its own,
# which /proc/PID/fd (the main thread's) does not list.
wait_fds() {
	local i
	for i in $(seq 1 300); do
		if [ "$(max_fds "$1")" -ge "$2" ]; then
			return 0
		fi
		sleep 0.1
	done
	echo "wait_fds: process $1 holds $(max_fds "$1") fds in its largest fd table after 30 s, want $2" >&2
	return 1
}

# max_fds PID: the most fds any thread of PID has open in its table.
max_fds() {
	local t n m=0
	for t in /proc/"$1"/task/*/fd; do
		n=$(ls "$t" 2>/dev/null | wc -l)
		[ "$n" -gt "$m" ] && m=$n
	done
	echo "$m"
}

# cpu_ns PID: CPU time of every thread of PID in ns (sum of schedstat's
# first field: time spent on CPU, nanosecond resolution).
cpu_ns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'
}

# need CMD PACKAGE: fail with the install command when CMD is missing.
need() {
	if ! command -v "$1" >/dev/null 2>&1; then
		echo "missing $1: install it with: apt-get update && apt-get install -y $2" >&2
		exit 1
	fi
}
