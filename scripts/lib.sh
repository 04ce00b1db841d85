# Shared helpers for muxbench scripts (sourced, not run).

# free_port prints a TCP port nothing on 127.0.0.1 listens on (bounded tries).
free_port() {
	local port tries
	for tries in $(seq 1 50); do
		port=$((20000 + RANDOM % 30000))
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
