package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/muxbench/muxbench/harness"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/loadfile"
	"github.com/muxbench/muxbench/results"
)

func init() {
	commands["merge"] = command{
		summary: "combine several load generators' -out files for one server into one results directory",
		run:     runMerge,
	}
}

const mergeSynopsis = "merge -out DIR [-backend NAME | -server FILE] FILE.json...\n       muxbench merge -out DIR RUNDIR..."

func runMerge(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("merge", mergeSynopsis, stderr)
	out := fs.String("out", "", "results `DIR` to create (must not exist, or be empty)")
	backend := fs.String("backend", "", "the server's backend `name` (from its hello line; implied by -server or by a file of load -control)")
	serverFile := fs.String("server", "", "`file` of the server's lines: its hello, then two stats reports taken inside the window (gives server counters and CPU)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: muxbench %s\n\n", mergeSynopsis)
		fmt.Fprintln(stderr, "Each FILE.json is one generator's `muxbench load -out` result for the same")
		fmt.Fprintln(stderr, "server and window. The merged run has one sample: connections, rates and")
		fmt.Fprintln(stderr, "requests add up, percentiles come from the merged histograms.")
		fmt.Fprintln(stderr, "Each RUNDIR is one generator's results directory of `muxbench run -server")
		fmt.Fprintln(stderr, "... -generators N` (all N of them): the merged run has every point whole.")
		fmt.Fprintln(stderr, "Flags may come before or after the files.")
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	paths, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(paths) == 0:
		return usageErrorf("no load result given (want the FILE.json of each muxbench load -out; see muxbench merge -h)")
	case *out == "":
		return usageErrorf("-out DIR is required (the results directory to create)")
	}
	var opts loadfile.Options
	if *backend != "" {
		if _, err := lineup.Lookup(*backend); err != nil {
			return usageErrorf("-backend: %v", err)
		}
		opts.Backend = *backend
	}
	if *serverFile != "" {
		data, err := os.ReadFile(*serverFile)
		if err != nil {
			return usageErrorf("-server: %v", err)
		}
		if opts.Server, err = loadfile.ParseServer(*serverFile, data); err != nil {
			return usageErrorf("-server: %v", err)
		}
		if *backend != "" && *backend != opts.Server.Hello.Backend {
			return usageErrorf("-backend %s, but the -server file's hello says %s (drop -backend)", *backend, opts.Server.Hello.Backend)
		}
		opts.Backend = opts.Server.Hello.Backend
	}
	if err := checkEmptyDir(*out); err != nil {
		return err
	}
	if dirs, err := allDirs(paths); err != nil {
		return err
	} else if dirs {
		if *backend != "" || *serverFile != "" {
			return usageErrorf("-backend and -server apply to load files; a remote run's directories carry the server's hello and reports")
		}
		return mergeRuns(paths, *out, stdout)
	}
	in := make([]loadfile.Input, len(paths))
	for i, p := range paths {
		f, err := loadfile.Read(p)
		if err != nil {
			return usageErrorf("%v", err)
		}
		in[i] = loadfile.Input{Name: p, File: f}
	}
	if opts.Backend == "" && !slices.ContainsFunc(in, func(x loadfile.Input) bool { return x.File.Server != nil }) {
		return usageErrorf("give -backend NAME (the server's, from its hello line) or -server FILE, or sample the server with load -control")
	}
	run, ov, err := loadfile.Merge(in, opts)
	if err != nil {
		if errors.Is(err, loadfile.ErrNoOverlap) || errors.Is(err, loadfile.ErrMixed) || errors.Is(err, loadfile.ErrDuplicate) {
			return usageErrorf("%v", err)
		}
		return err
	}
	if err := results.WriteDir(*out, run); err != nil {
		return err
	}
	s := run.Samples[0]
	fmt.Fprintf(stdout, "merged %d load results: windows overlap %v; %d requests, %d connections (%d active); status %s\n",
		len(in), ov, s.Requests, s.Idle+s.Active, s.Active, s.Status)
	if s.Reason != "" {
		fmt.Fprintf(stdout, "reason: %s\n", s.Reason)
	}
	line, err := outcome(run.Samples, filepath.Join(*out, results.RunFile))
	fmt.Fprintf(stdout, "%s\nwrote %s (muxbench report %s)\n", line, *out, *out)
	return err
}

// parseInterleaved parses flags placed before, between or after the
// positional arguments and returns those arguments in order.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	defer func() { fs.Usage = usage; fs.SetOutput(out) }()
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				usage()
				return nil, err
			}
			return nil, usageErrorf("%s (see muxbench %s -h)", flagError(err), fs.Name())
		}
		args = fs.Args()
		for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			pos = append(pos, args[0])
			args = args[1:]
		}
		if len(args) == 0 {
			return pos, nil
		}
	}
}

// checkEmptyDir refuses a -out that exists and holds anything.
func checkEmptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return usageErrorf("-out %s: %v", dir, err)
	}
	if len(entries) > 0 {
		return usageErrorf("-out %s exists and is not empty (choose a new directory; merge never overwrites a run)", dir)
	}
	return nil
}

// allDirs reports whether every path is a directory (a run's), or none
// is (load files); a mix is an error.
func allDirs(paths []string) (bool, error) {
	dirs := 0
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			dirs++
		}
	}
	if dirs > 0 && dirs < len(paths) {
		return false, usageErrorf("give either load files (muxbench load -out) or results directories (muxbench run -server -generators N), not both")
	}
	return dirs > 0, nil
}

// mergeRuns merges the generators' results directories of one shared
// remote run into out.
func mergeRuns(dirs []string, out string, stdout io.Writer) error {
	in := make([]loadfile.RunInput, len(dirs))
	for i, d := range dirs {
		run, err := results.ReadRun(d)
		if err != nil {
			return usageErrorf("%v", err)
		}
		x := loadfile.RunInput{Name: d, Run: run, Loads: map[int]*loadfile.File{}}
		for k := range run.Samples {
			path := harness.LoadFile(d, k)
			f, err := loadfile.Read(path)
			if errors.Is(err, fs.ErrNotExist) {
				continue // a sample not measured: its record says why
			}
			if err != nil {
				return usageErrorf("%v", err)
			}
			x.Loads[k] = f
		}
		in[i] = x
	}
	var opts loadfile.Options
	if len(in) > 0 && in[0].Run.Remote != nil {
		if b, err := lineup.Lookup(in[0].Run.Remote.Hello.Backend); err == nil && b.Poller != nil {
			opts.BusyPoll = b.Poller.BusyPoll
		}
	}
	run, err := loadfile.MergeRuns(in, opts)
	if err != nil {
		if errors.Is(err, loadfile.ErrMixed) {
			return usageErrorf("%v", err)
		}
		return err
	}
	if err := results.WriteDir(out, run); err != nil {
		return err
	}
	line, err := outcome(run.Samples, filepath.Join(out, results.RunFile))
	fmt.Fprintf(stdout, "merged %d generators' shares: %s%s\n", len(in), line, map[bool]string{true: "; incomplete: a share was interrupted", false: ""}[run.Incomplete])
	fmt.Fprintf(stdout, "wrote %s (muxbench report %s)\n", out, out)
	return err
}
