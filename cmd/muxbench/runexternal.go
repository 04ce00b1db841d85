package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/muxbench/muxbench/harness"
	"github.com/muxbench/muxbench/internal/procfs"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/results"
)

// runExternal is `muxbench run -exec` and `muxbench run -attach`: sweep a
// server muxbench did not write, started for every sample or already
// running, read from outside (sock_diag, /proc), as one line beside the
// built-in backends.
type runExternal struct {
	exec, attach, name, cpu string
	pid                     int

	argv []string // -exec, split
}

// serverCPUFigures maps -server-cpu's values to the CPU scopes they show.
var serverCPUFigures = map[string]string{"tree": results.CPUScopeTree, "busiest": results.CPUScopeBusiest}

func (r *runExternal) flags(fs *flag.FlagSet) {
	fs.StringVar(&r.exec, "exec", "", "start `command` for every sample: a server muxbench did not write, pinned to server_cpus, stopped with SIGTERM after; "+harness.PortPlaceholder+" and "+harness.AddrPlaceholder+" in it become the port picked for the sample and 127.0.0.1:PORT (words split as sh would, quotes honoured, nothing expanded)")
	fs.StringVar(&r.attach, "attach", "", "drive a server already running on this machine at `host:port` (needs -pid): never started or stopped, its figures the deltas of each window")
	fs.IntVar(&r.pid, "pid", 0, "with -attach: the server's `pid`; its process tree must hold the listener, and its CPU is read")
	fs.StringVar(&r.name, "name", "", "with -exec or -attach: the `label` of the server's line in progress, tables and charts (default: the command's base name, or the process's name)")
	fs.StringVar(&r.cpu, "server-cpu", "tree", "with -exec or -attach: the headline CPU `figure`, tree (every thread of the server's process tree: what it costs) or busiest (its busiest thread: a multi-threaded server's event loop); run.json keeps both")
}

// on reports whether -exec or -attach was given.
func (r *runExternal) on() bool { return r.exec != "" || r.attach != "" }

// labelPattern is what a -name may hold: it names files' series and
// table rows.
var labelPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)

// check validates the flags before any work; remote is whether -server
// was given.
func (r *runExternal) check(remote bool) error {
	if !r.on() {
		if r.pid != 0 || r.name != "" || r.cpu != "tree" {
			return usageErrorf("-pid, -name and -server-cpu apply to -exec and -attach only")
		}
		return nil
	}
	switch {
	case r.exec != "" && r.attach != "":
		return usageErrorf("-exec starts a server for every sample, -attach drives a running one: give one of them")
	case remote:
		return usageErrorf("-server drives a muxbench server over its control port; -exec and -attach a server muxbench did not write: give one of them")
	case serverCPUFigures[r.cpu] == "":
		return usageErrorf("-server-cpu %q: want tree or busiest", r.cpu)
	case r.exec != "" && r.pid != 0:
		return usageErrorf("-pid applies to -attach: an -exec server's pid is the one started for each sample")
	}
	if r.attach != "" {
		if _, _, err := harness.ParseHostPort(r.attach); err != nil {
			return usageErrorf("-attach %v", err)
		}
		if r.pid <= 0 {
			return usageErrorf("-attach needs -pid PID, the server's process (its CPU is read from /proc/PID, and it must hold the listener on %s)", r.attach)
		}
		if r.name == "" {
			comm, err := procfs.Comm(r.pid)
			if err != nil {
				return usageErrorf("-pid %d: no such process (%v)", r.pid, err)
			}
			r.name = comm
		}
	} else {
		argv, err := splitCommand(r.exec)
		if err != nil {
			return usageErrorf("-exec: %v", err)
		}
		if err := harness.CheckCommand(argv); err != nil {
			// A server configured by a file gets its port through sh.
			return usageErrorf("-exec: %v (a server configured by a file: -exec 'sh -c \"sed s/PORT/%s/ t.conf >%s.conf; exec server -c %s.conf\"')",
				err, harness.PortPlaceholder, harness.PortPlaceholder, harness.PortPlaceholder)
		}
		r.argv = argv
		if r.name == "" {
			r.name = filepath.Base(argv[0])
		}
	}
	if !labelPattern.MatchString(r.name) {
		return usageErrorf("-name %q: want letters, digits and . _ + - (it labels a line in tables and charts)", r.name)
	}
	if _, err := lineup.Lookup(r.name); err == nil {
		return usageErrorf("-name %s is one of muxbench's own backends: label the external server otherwise (-name), or its line would be mistaken for the backend's", r.name)
	}
	return nil
}

// fit makes sc sweep the external server, one line named its label, and
// returns what the harness needs of it; nil without -exec or -attach. A
// suite (whose parts start servers of their own) and what only a
// muxbench server applies are refused.
func (r *runExternal) fit(sc *results.Scenario, suite string, stderr io.Writer) (*harness.External, error) {
	if !r.on() {
		return nil, nil
	}
	switch {
	case suite != "":
		return nil, usageErrorf("-exec and -attach drive one scenario; suite %s also runs parts that start muxbench's own servers: run its scenarios one at a time", suite)
	case sc.ServerSendBuffer > 0:
		return nil, usageErrorf("scenario %s sets server_sndbuf, which only muxbench's own servers apply: drop it, or configure the server's send buffer itself", sc.Name)
	}
	x := &harness.External{Label: r.name, Command: r.argv, Attach: r.attach, PID: r.pid, CPUScope: serverCPUFigures[r.cpu]}
	if r.attach != "" {
		if err := harness.CheckAttach(r.attach, r.pid); err != nil {
			return nil, usageErrorf("-attach %s -pid %d: %v", r.attach, r.pid, err)
		}
		cpus, err := harness.ProcessCPUs(r.pid)
		if err != nil {
			return nil, err
		}
		if sc.ServerCPUs != "" && sc.ServerCPUs != cpus {
			fmt.Fprintf(stderr, "attached server: the scenario's server_cpus %s does not apply; the server may run on %s, as whoever started it decided (taskset)\n", sc.ServerCPUs, orAny(cpus))
		}
		sc.ServerCPUs = cpus
	}
	if len(sc.Backends) != 1 || sc.Backends[0] != x.Label {
		fmt.Fprintf(stderr, "external server %s: one line, in place of the scenario's backends %v\n", x.Label, sc.Backends)
	}
	sc.Backends = []string{x.Label}
	what := fmt.Sprintf("%q, started for every sample on CPU %s", r.exec, orAny(sc.ServerCPUs))
	if r.attach != "" {
		what = fmt.Sprintf("%s, pid %d, on CPU %s (attached: never started or stopped)", r.attach, r.pid, orAny(sc.ServerCPUs))
	}
	fmt.Fprintf(stderr, "external server %s: %s; CPU shown: %s\n", x.Label, what, x.CPUScope)
	return x, nil
}

func orAny(cpus string) string {
	if cpus == "" {
		return "any"
	}
	return cpus
}

// splitCommand splits an -exec command line into words as sh would,
// without expanding anything: blanks separate words; single quotes keep
// everything up to the next single quote; double quotes keep everything
// but \" \\ \$ and \` , which lose their backslash; a backslash outside
// quotes keeps the next character.
func splitCommand(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words, inWord = append(words, w.String()), false
				w.Reset()
			}
			continue
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("%q: unterminated single quote", s)
			}
			w.WriteString(s[i+1 : i+1+end])
			i += end + 1
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				w.WriteByte(s[i])
			}
			if i == len(s) {
				return nil, fmt.Errorf("%q: unterminated double quote", s)
			}
		case c == '\\':
			if i+1 == len(s) {
				return nil, fmt.Errorf("%q: a backslash at the end escapes nothing", s)
			}
			i++
			w.WriteByte(s[i])
		default:
			w.WriteByte(c)
		}
		inWord = true
	}
	if inWord {
		words = append(words, w.String())
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("empty command")
	}
	return words, nil
}
