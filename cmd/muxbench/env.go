package main

import (
	"fmt"
	"io"

	"github.com/muxbench/muxbench/harness"
	"github.com/muxbench/muxbench/scenarios"
)

func init() {
	commands["env"] = command{
		summary: "check this machine for benchmarking (CPUs, fd limits, ports, somaxconn)",
		run:     runEnv,
	}
}

func runEnv(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("env", "env [-scenario NAME|FILE]", stderr)
	name := fs.String("scenario", "idle-sweep", "check against this `scenario` (built-in name or YAML file)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	sc, err := scenarios.Load(*name)
	if err != nil {
		return usageErrorf("-scenario: %v", err)
	}
	e := harness.CollectEnvironment()
	fmt.Fprintf(stdout, "host      %s\nkernel    %s %s/%s\ncpu       %s (%d online)\ngo        %s\nmuxbench  %s %s\n\n",
		e.Hostname, e.Kernel, e.OS, e.Arch, e.CPUModel, e.Cores, e.GoVersion, e.Version, e.Commit)
	fmt.Fprintf(stdout, "checks against scenario %s:\n", sc.Name)
	problems := 0
	for _, c := range harness.Preflight(sc) {
		fmt.Fprintf(stdout, "  %-4s %-9s %s\n", c.Level, c.Name, c.Detail)
		if c.Fix != "" {
			fmt.Fprintf(stdout, "            fix: %s\n", c.Fix)
		}
		if c.Level == "fail" {
			problems++
		}
	}
	if problems > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d check(s) failed", problems)}
	}
	return nil
}
