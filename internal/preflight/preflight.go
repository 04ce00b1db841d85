// Package preflight checks this machine before anything runs: against a
// scenario (CPUs, open-file limit, ports, listen backlog, backend support,
// select's FD_SETSIZE) for `muxbench run` and `muxbench env`, and for N
// connections in a role (`muxbench env -conns N`). Each finding is one
// Check with a typed Level; a Fail means points cannot run, a Warn that
// results are affected.
//
// Judging is kept apart from reading, as in package procfs: Conns is a
// pure function of Limits, which ReadLimits fills from /proc.
package preflight

// Level is how serious a Check's finding is.
type Level int

const (
	// OK: nothing to fix.
	OK Level = iota
	// Warn: the run can go ahead, but its results are affected (or a
	// value could not be read).
	Warn
	// Fail: points cannot run as asked; fix it first.
	Fail
)

// String is the level as env and run print it: ok, warn or fail.
func (l Level) String() string {
	switch l {
	case OK:
		return "ok"
	case Warn:
		return "warn"
	case Fail:
		return "fail"
	}
	return "unknown"
}

// Check is one preflight finding.
type Check struct {
	Name   string // what was checked: "cpus", "nofile", a backend's name, ...
	Level  Level
	Detail string
	Fix    string // how to fix it; empty when Level is OK
}

// Fails counts the checks at Level Fail.
func Fails(checks []Check) int {
	n := 0
	for _, c := range checks {
		if c.Level == Fail {
			n++
		}
	}
	return n
}

// list collects checks in order.
type list []Check

func (l *list) add(name string, level Level, detail, fix string) {
	*l = append(*l, Check{Name: name, Level: level, Detail: detail, Fix: fix})
}
