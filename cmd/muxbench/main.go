// Command muxbench benchmarks Linux I/O multiplexers — select(2), poll(2),
// epoll level- and edge-triggered, io_uring (multishot poll under the same
// loop, and a completion-model server of its own) — behind one identical
// TCP echo server loop, with Go's own netpoller (a goroutine-per-connection
// server) as the baseline, as the number of mostly-idle connections grows.
//
// Each subcommand lives in its own file as a flag.FlagSet plus a run
// function and adds itself to the commands table in an init function.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/cpuset"
)

// command is one subcommand: run parses args itself and returns an error.
// An *exitError (usageErrorf makes one with status 2) sets the exit status;
// any other error exits 1.
type command struct {
	summary string
	run     func(args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

// exitError carries an explicit exit status: 2 for bad input (usageErrorf),
// 1 for compare's threshold gate and failed samples, 128 + the signal for
// a command a signal stopped (interruptStatus). It is the one way a
// command chooses its exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and maps its error to an exit status. It is
// what tests call instead of main.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "muxbench: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	err := cmd.run(args[1:], stdin, stdout, stderr)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintf(stderr, "muxbench %s: %v\n", args[0], ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "muxbench %s: %v\n", args[0], err)
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: muxbench COMMAND [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'muxbench COMMAND -h' for a command's flags.")
}

// signalCause is the cause of a context notifyInterrupts cancelled: the
// signal that arrived.
type signalCause struct{ sig unix.Signal }

func (c signalCause) Error() string { return "stopped by " + unix.SignalName(c.sig) }

// notifyInterrupts returns a context cancelled by the first SIGINT or
// SIGTERM, with that signal as its cause (interruptStatus reads it). stop
// releases the signals: a second one then stops the process the usual way.
func notifyInterrupts() (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGINT, unix.SIGTERM)
	go func() {
		select {
		case s := <-ch:
			sig, _ := s.(unix.Signal)
			cancel(signalCause{sig})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		cancel(nil)
	}
}

// interruptStatus is the exit status of a command that ctx's signal
// stopped: 128 + the signal's number, as a shell reports a process the
// signal killed (130 for Ctrl-C, 143 for SIGTERM); 130 for a context
// cancelled without one.
func interruptStatus(ctx context.Context) int {
	var c signalCause
	if errors.As(context.Cause(ctx), &c) {
		return 128 + int(c.sig)
	}
	return 128 + int(unix.SIGINT)
}

// usageErrorf returns an error that exits with status 2 and names what was wrong.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// newFlagSet returns a FlagSet that reports parse errors instead of exiting
// and prints its usage to stderr.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: muxbench %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses flags followed by positional arguments (parseFlags
// allows none) and rejects a flag placed after them, which the flag package
// would otherwise take silently as an argument. -h prints the usage; a bad
// flag is one line that says where the flags are listed, not the whole list.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}     // the flag package calls it on every error
	fs.SetOutput(io.Discard) // and prints the error itself first
	err := fs.Parse(args)
	fs.Usage = usage
	fs.SetOutput(out)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return nil, err
		}
		return nil, usageErrorf("%s (see muxbench %s -h)", flagError(err), fs.Name())
	}
	rest := fs.Args()
	for _, a := range rest {
		if len(a) > 1 && a[0] == '-' {
			return nil, usageErrorf("flag %s after the arguments (flags go first; see muxbench %s -h)", a, fs.Name())
		}
	}
	return rest, nil
}

// parseFlags is parseArgs for commands that take no positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q (flags go before arguments; see muxbench %s -h)", fs.Arg(0), fs.Name())
	}
	return nil
}

// parseCPUsFlag parses the CPU list of a -cpus flag and checks that its
// CPUs are online, so a bad list is a usage error before anything starts.
func parseCPUsFlag(value string) (cpuset.Set, error) {
	for _, part := range strings.Split(value, ",") {
		if p := strings.TrimSpace(part); strings.HasPrefix(p, "-") {
			return cpuset.Set{}, usageErrorf("-cpus %s: %s is not a CPU; CPUs are numbered from 0 (write e.g. 0, 1-3 or 0,2-3)", value, p)
		}
	}
	set, err := cpuset.Parse(value)
	if err != nil {
		return cpuset.Set{}, usageErrorf("-cpus: %v", err)
	}
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return set, nil // pinning will say what is wrong, if anything
	}
	online, err := cpuset.Parse(strings.TrimSpace(string(b)))
	if err != nil {
		return set, nil
	}
	for _, c := range set.CPUs() {
		if !slices.Contains(online.CPUs(), c) {
			return cpuset.Set{}, usageErrorf("-cpus %s: CPU %d is not online (online CPUs: %s)", value, c, online)
		}
	}
	return set, nil
}

// flagError rewords the flag package's parse errors that are about Go
// rather than the command line.
func flagError(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return "unknown flag " + name
	}
	// strconv's syntax error, as the flag package words it for numbers.
	if head, ok := strings.CutSuffix(msg, ": parse error"); ok {
		return head + ": not a number"
	}
	if head, ok := strings.CutSuffix(msg, ": value out of range"); ok {
		return head + ": too large"
	}
	return msg
}
