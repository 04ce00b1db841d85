package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/muxbench/muxbench/harness"
	"github.com/muxbench/muxbench/internal/preflight"
	"github.com/muxbench/muxbench/results"
	"github.com/muxbench/muxbench/scenarios"
)

func init() {
	commands["env"] = command{
		summary: "check this machine for benchmarking (CPUs, fd limits, ports, somaxconn)",
		run:     runEnv,
	}
}

func runEnv(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("env", "env [-scenario NAME|FILE] [-conns N [-role server|generator|both] [-generators G] [-source-ips K]]", stderr)
	name := fs.String("scenario", "idle-sweep", "check against this `scenario` (built-in name or YAML file)")
	cc := connFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := cc.check(fs); err != nil {
		return err
	}
	sc, err := scenarios.Load(*name)
	if err != nil {
		return usageErrorf("-scenario: %v", err)
	}
	e := harness.CollectEnvironment()
	writeEnv(stdout, e)
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "checks against scenario %s:\n", sc.Name)
	checks := preflight.Scenario(sc)
	printChecks(stdout, checks)
	problems := preflight.Fails(checks)
	if cc.conns > 0 {
		problems += cc.print(stdout)
	}
	if problems > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d check(s) failed", problems)}
	}
	return nil
}

// writeEnv prints the environment a run records, "unknown" where it could
// not be read: the same values run.json holds.
func writeEnv(w io.Writer, e results.Environment) {
	or := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	build := "version " + or(e.Version) + ", commit " + or(e.Commit)
	if e.Commit != "" && e.Dirty {
		build += " (modified)"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "host\t%s\n", or(e.Hostname))
	fmt.Fprintf(tw, "kernel\t%s %s/%s\n", or(e.Kernel), e.OS, e.Arch)
	fmt.Fprintf(tw, "cpu\t%s (%d online)\n", or(e.CPUModel), e.Cores)
	fmt.Fprintf(tw, "go\t%s, GOMAXPROCS %d\n", e.GoVersion, e.GOMAXPROCS)
	fmt.Fprintf(tw, "muxbench\t%s\n", build)
	fmt.Fprintf(tw, "cpuidle\tdriver %s, governor %s\n", or(e.CPUIdleDriver), or(e.CPUIdleGovernor))
	if len(e.Haltpoll) > 0 {
		fmt.Fprintf(tw, "haltpoll\t%s\n", joinValues(e.Haltpoll, ", ", "="))
	}
	fmt.Fprintf(tw, "irq time\taccounted separately (CONFIG_IRQ_TIME_ACCOUNTING): %s\n", or(e.IRQTimeAccounting))
	if len(e.Vulnerabilities) == 0 {
		fmt.Fprintf(tw, "mitigations\tunknown\n")
	}
	tw.Flush()
	if len(e.Vulnerabilities) > 0 {
		fmt.Fprintln(w, "mitigations:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, k := range slices.Sorted(maps.Keys(e.Vulnerabilities)) {
			fmt.Fprintf(tw, "  %s:\t%s\n", k, e.Vulnerabilities[k])
		}
		tw.Flush()
	}
}

// joinValues formats m as sorted key=value pairs.
func joinValues(m map[string]string, sep, eq string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+eq+m[k])
	}
	return strings.Join(parts, sep)
}
