package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/scenarios"
)

func init() {
	commands["list"] = command{
		summary: "list backends and built-in scenarios",
		run:     runList,
	}
}

func runList(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("list", "list", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	// Variants change one policy of another backend; scenarios run them
	// only by name, so they are listed apart.
	for _, variants := range []bool{false, true} {
		fmt.Fprintln(tw, map[bool]string{false: "BACKEND", true: "VARIANT"}[variants]+"\tDESCRIPTION")
		for _, name := range lineup.Names() {
			info, err := lineup.Lookup(name)
			if err != nil {
				return err
			}
			if info.Variant == variants {
				desc := info.Description
				if info.Check != nil {
					if err := info.Check(); err != nil {
						desc += " [" + err.Error() + "]"
					}
				}
				fmt.Fprintf(tw, "%s\t%s\n", name, desc)
			}
		}
		fmt.Fprintln(tw, "\t")
	}
	// Pitfalls are wrong on purpose: only `muxbench pitfalls` runs them.
	fmt.Fprintln(tw, "PITFALL\tDESCRIPTION")
	for _, name := range lineup.Pitfalls {
		info, err := lineup.Lookup(name)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\n", name, info.Description)
	}
	fmt.Fprintln(tw, "\t")
	fmt.Fprintln(tw, "SCENARIO\tDESCRIPTION")
	for _, s := range scenarios.List() {
		fmt.Fprintf(tw, "%s\t%s\n", s.Name, s.Description)
	}
	fmt.Fprintln(tw, "\t")
	fmt.Fprintln(tw, "SUITE\tDESCRIPTION")
	for _, s := range scenarios.Suites() {
		fmt.Fprintf(tw, "%s\t%s\n", s.Name, s.Description)
	}
	return tw.Flush()
}
