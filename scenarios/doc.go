// Package scenarios loads and validates muxbench scenario files: YAML files
// that say which backends to run, which fd counts to sweep and how to drive
// the server at each point. The built-in scenarios (quick, idle-sweep, smoke)
// are embedded in the binary, so they work from any directory; a path to a
// user's own file works too.
//
// Decoding is strict: an unknown field, a value of the wrong type or an
// invalid value is an error of the form
//
//	FILE:LINE: what is wrong (how to fix it)
//
// and every problem in a file is reported, one per line, in line order.
//
// # Fields
//
// Every field except fds is optional; a field left out, or left empty
// ("warmup:"), takes its default. The scenario as run, with every default
// filled in, is the results.Scenario that Parse returns and run.json records.
//
//	name         the scenario's name, used in result directory names: letters,
//	             digits, '.', '_' and '-', at most 64 characters.
//	             Default: the file name without its extension.
//	description  one line saying what the scenario is for, at most 200
//	             characters. Default: empty.
//	backends     list of backends to run, each once: any that `muxbench list`
//	             names (lineup.Order: the defaults and the variants).
//	             Default: the seven of lineup.Default, in that order:
//	             select, poll, epoll-lt, epoll-et, uring-poll, uring, gonet.
//	fds          REQUIRED. The sweep: total fd counts the server's multiplexer
//	             watches at each point: idle + active connections + the
//	             server's own 2 (listener and wake-up eventfd). Ascending, no
//	             repeats, each at least (smallest active)+2.
//	active       active connections: one number or an ascending list (a second
//	             axis). Every value must fit the largest fd count. A
//	             combination whose fd count cannot hold the active connections
//	             and the server's own fds (fds < active+2) cannot run, and a run
//	             records it as unsupported; this lets one sweep start below
//	             its largest active count. Default: [1].
//	mode         open (requests at a fixed total rate, latency measured from
//	             the intended send time) or closed (each active connection
//	             sends its next request when the echo arrives: max throughput).
//	             Default: open.
//	rate         total requests per second across the active connections,
//	             open mode only (> 0, and no more than the load generator
//	             paces, 1e9). Default: 2000 in open mode; it must not be set
//	             in closed mode.
//	size         bytes per request, 1 to 1048576 (1 MiB); with proto sockperf
//	             14 (its header) to 65507 (its largest message). Default: 64.
//	             Not with proto redis, http or line: they send one fixed
//	             request (recorded as size 0).
//	keepalive    Go duration between the small messages (with proto redis,
//	             http or line: one request, its reply checked) each idle
//	             connection sends to stay "mostly idle"; 0 keeps idle connections silent,
//	             otherwise at least 100ms. Default: 0.
//	warmup       Go duration driven before each measured window, not measured,
//	             at most 10m. Default: 1s.
//	duration     Go duration of each measured window, 100ms to 10m.
//	             Default: 3s.
//	repetitions  measured windows per point and backend, 1 to 1000.
//	             Default: 3.
//	proto        echo (plain byte echo) or sockperf (sockperf's 14-byte
//	             header framing), which muxbench's own servers speak; or
//	             redis (PING, +PONG back), http (a keep-alive GET of path,
//	             a 2xx reply with a Content-Length body back) or line (the
//	             line, one line back), which only servers muxbench did not
//	             write speak: `muxbench run` refuses them until it can drive
//	             such a server. Default: echo.
//	path         proto http only: the path to GET, e.g. /index.html.
//	             Default: /.
//	line         proto line only, required: the request line, without its
//	             CRLF, e.g. version (memcached).
//	expect       proto line only: a prefix every reply line must start
//	             with, e.g. "VERSION ". Default: any line.
//	server_cpus  CPU list the server is pinned to, kernel cpulist format
//	             ("0", "1-3", "0,2"); empty means unpinned. Default: "0".
//	client_cpus  CPU list the load generator is pinned to; must not overlap
//	             server_cpus. Default: "1".
//
// Durations are Go duration strings ("500ms", "2s", "1m30s"), parsed once
// here into results.Duration values (written back to results files as
// time.Duration.String text, "0s" for a silent keepalive).
package scenarios
