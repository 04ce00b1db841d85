package main

import (
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/muxbench/muxbench/internal/preflight"
)

// `muxbench env -conns N`: will this machine hold N connections, as the
// server or as one of several generators? The flags are here; reading the
// limits and judging them is package preflight's.

// connTarget is env's -conns, -role, -generators and -source-ips.
type connTarget struct {
	conns, generators, sources int
	role                       string
}

func connFlags(fs *flag.FlagSet) *connTarget {
	c := &connTarget{}
	fs.IntVar(&c.conns, "conns", 0, "also check this machine for `N` connections of one point (fds, nr_open, file-max, ports, somaxconn, kernel memory)")
	fs.StringVar(&c.role, "role", string(preflight.RoleBoth), "with -conns: this machine runs the `server`, a `generator`, or `both` (one machine)")
	fs.IntVar(&c.generators, "generators", 1, "with -conns: generator hosts sharing the connections (each holds N/G)")
	fs.IntVar(&c.sources, "source-ips", 1, "with -conns: source addresses each generator spreads its connections over")
	return c
}

func (c *connTarget) check(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	switch {
	case c.conns < 0:
		return usageErrorf("-conns %d: want a positive number of connections", c.conns)
	case c.conns == 0 && (given["role"] || given["generators"] || given["source-ips"]):
		return usageErrorf("-role, -generators and -source-ips apply with -conns N only")
	case !slices.Contains(preflight.Roles, preflight.Role(c.role)):
		return usageErrorf("-role %q: want server, generator or both", c.role)
	case c.generators < 1:
		return usageErrorf("-generators %d: want 1 or more", c.generators)
	case c.sources < 1:
		return usageErrorf("-source-ips %d: want 1 or more addresses", c.sources)
	case preflight.Role(c.role) == preflight.RoleBoth && c.generators > 1:
		return usageErrorf("-generators %d with -role both: several generators run on other hosts (give -role server here, -role generator there)", c.generators)
	}
	return nil
}

// print writes the checks for c on this machine and returns the failures.
func (c *connTarget) print(w io.Writer) int {
	l := preflight.ReadLimits()
	l.Conns, l.Role, l.Generators, l.SourceAddrs = c.conns, preflight.Role(c.role), c.generators, c.sources
	fmt.Fprintf(w, "\nchecks for %d connections (this machine: %s; %d generator(s), %d source address(es) each):\n", c.conns, c.role, c.generators, c.sources)
	checks := preflight.Conns(l)
	printChecks(w, checks)
	return preflight.Fails(checks)
}

// printChecks writes checks as env lists them: level, name, detail, and
// the fix on its own line.
func printChecks(w io.Writer, checks []preflight.Check) {
	for _, ch := range checks {
		fmt.Fprintf(w, "  %-4s %-9s %s\n", ch.Level, ch.Name, ch.Detail)
		if ch.Fix != "" {
			fmt.Fprintf(w, "            fix: %s\n", ch.Fix)
		}
	}
}
