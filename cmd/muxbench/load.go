package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/loadgen"
)

func init() {
	commands["load"] = command{summary: "drive a server (echo, sockperf, redis, http, line) with idle and active connections", run: runLoad}
}

// durationFlag is a flag.Value for loadgen.ParseDuration.
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}

func (f durationFlag) Set(s string) error {
	d, err := loadgen.ParseDuration(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

// rateFlag is a flag.Value for loadgen.ParseRate.
type rateFlag struct {
	r   *float64
	set bool
}

func (f *rateFlag) String() string {
	if f.r == nil {
		return ""
	}
	return fmt.Sprint(*f.r)
}

func (f *rateFlag) Set(s string) error {
	r, err := loadgen.ParseRate(s)
	if err != nil {
		return err
	}
	*f.r = r
	f.set = true
	return nil
}

// runLoad is `muxbench load`: flags -> loadgen.Config -> loadgen.Run ->
// JSON or a short table on stdout.
func runLoad(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("load", "load -target HOST:PORT [flags]", stderr)
	c := loadgen.Config{
		Warmup:   time.Second,
		Duration: 5 * time.Second,
		Timeout:  loadgen.DefaultTimeout,
		Rate:     1000,
	}
	fs.StringVar(&c.Target, "target", "", "server to drive, `host:port`")
	fs.IntVar(&c.Conns, "conns", 1, "total connections, idle + active")
	fs.IntVar(&c.Active, "active", 1, "connections that carry traffic (the rest stay idle)")
	mode := fs.String("mode", string(traffic.Open), "`open` (fixed -rate, latency from the intended send time) or closed (ping-pong)")
	rate := &rateFlag{r: &c.Rate}
	fs.Var(rate, "rate", "open loop: total requests per second over the active connections, `N` or N/DURATION (e.g. 5000 or 300/1m)")
	fs.IntVar(&c.Size, "size", loadgen.DefaultSize, "`bytes` per request (echo and sockperf; the other protocols send their own request)")
	fs.Var(durationFlag{&c.KeepAlive}, "keepalive", fmt.Sprintf("idle connections send one small message (redis, http, line: one request) per `interval` and check the reply: 0 (silent) or %v or more", loadgen.MinKeepAlive))
	fs.Var(durationFlag{&c.Warmup}, "warmup", "traffic before the measured window, not counted: a `duration` like 1s")
	fs.Var(durationFlag{&c.Duration}, "duration", "length of the measured window: a `duration` like 5s")
	spin := loadgen.DefaultSpinBefore
	fs.Var(durationFlag{&spin}, "spin", "open loop: stop sleeping this `duration` before each due send and poll, so requests leave on time (0 = never; costs client CPU)")
	spinReply := loadgen.DefaultSpinReply
	fs.Var(durationFlag{&spinReply}, "spin-reply", "open loop: after each send, poll for the reply up to this `duration` instead of blocking, so waking the generator's CPU is not counted as server latency (0 = never; costs client CPU)")
	fs.Var(durationFlag{&c.Timeout}, "timeout", "an echo (or reply) not complete after this `duration` (> 0) is a timeout error")
	fs.Float64Var(&c.ConnectRate, "connect-rate", loadgen.DefaultConnectRate, "connections opened per second (`N` > 0)")
	fs.IntVar(&c.Pipeline, "pipeline", 0, fmt.Sprintf("open loop: at most `N` requests in flight per active connection (1 = wrk2-style, no pipelining; default %d for echo and sockperf, %d for redis, http and line)",
		loadgen.DefaultPipelineFor(traffic.Echo), loadgen.DefaultPipelineFor(traffic.Redis)))
	sourceIPs := fs.String("source-ips", "", "source addresses to spread connections over, `list` like 127.0.0.1,127.0.0.2 or 127.0.0.1-127.0.0.8 (default: automatic over 127.0.0.x for a loopback target)")
	proto := fs.String("proto", string(traffic.Echo), "`protocol`: echo (plain bytes), sockperf (sockperf's TCP framing), redis (PING, +PONG back), http (HTTP/1.1 keep-alive GET -path, a 2xx reply with Content-Length back) or line (-line, one line back)")
	fs.StringVar(&c.Path, "path", "", "-proto http: the `path` to GET (default "+loadgen.DefaultPath+"); the Host header is -target")
	fs.StringVar(&c.Line, "line", "", "-proto line: the request `line` to send, CRLF added (e.g. version for memcached); required")
	fs.StringVar(&c.Expect, "expect", "", "-proto line: every reply line must start with this `prefix` (e.g. \"VERSION \"; default: any line)")
	fs.Func("server-nofile", "the server's RLIMIT_NOFILE if known (`n`; 0 = unknown), checked before connecting", func(s string) error {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return errors.New("want the server's fd limit, a whole number (0 = unknown)")
		}
		c.ServerNoFile = n
		return nil
	})
	cpus := fs.String("cpus", "", "pin the generator's threads to these CPUs, `list` like 1 or 2-3")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	var out loadOut
	out.flags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c.Mode = traffic.Mode(*mode) // loadgen's Validate names a bad one
	p, err := traffic.ParseProto(*proto)
	if err != nil {
		return usageErrorf("-proto: %v", err)
	}
	c.Proto = p
	if err := out.check(time.Now()); err != nil {
		return err
	}
	if err := out.share(&c); err != nil {
		return err
	}
	// The flags' 0 means never; the Config's 0 means the default.
	c.SpinBefore, c.SpinReply = spinField(spin), spinField(spinReply)
	if c.Target == "" {
		return usageErrorf("-target is required (e.g. -target 127.0.0.1:7000)")
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if !c.Proto.Echoes() {
		// The request/reply protocols send one fixed request: a size
		// would mean nothing, and they pipeline only when asked to.
		if given["size"] {
			return usageErrorf("-size applies to -proto echo and sockperf; -proto %s sends its own fixed request (drop -size)", c.Proto)
		}
		c.Size = 0
	}
	if !given["pipeline"] {
		c.Pipeline = loadgen.DefaultPipelineFor(c.Proto)
	}
	if c.Mode == traffic.Closed {
		if rate.set {
			return usageErrorf("-rate applies to -mode open only; closed loop sends as fast as the server answers")
		}
		if given["pipeline"] {
			return usageErrorf("-pipeline applies to -mode open only; closed loop has one request in flight per connection")
		}
		c.Rate = 0
	}
	if rate.set && c.Active == 0 {
		return usageErrorf("-rate %v with -active 0: every connection is idle, so nothing is sent (give -active 1 or more, or drop -rate)", c.Rate)
	}
	// Config reads 0 as "the default"; on the command line the defaults
	// are shown and 0 would only be a mistake.
	switch {
	case c.Timeout == 0:
		return usageErrorf("-timeout 0: want a positive duration (default %v)", loadgen.DefaultTimeout)
	case c.Pipeline == 0:
		return usageErrorf("-pipeline 0: want 1 or more requests in flight (default %d for -proto %s)", loadgen.DefaultPipelineFor(c.Proto), c.Proto)
	case c.ConnectRate == 0:
		return usageErrorf("-connect-rate 0: want a positive number of connections per second (default %d)", loadgen.DefaultConnectRate)
	case c.Size == 0 && c.Proto.Echoes():
		return usageErrorf("-size 0: want 1 or more bytes (default %d)", loadgen.DefaultSize)
	}
	if *sourceIPs != "" {
		ips, err := loadgen.ParseSourceIPs(*sourceIPs)
		if err != nil {
			return usageErrorf("-source-ips: %v", err)
		}
		c.SourceIPs = ips
	}
	set, err := parseCPUsFlag(*cpus)
	if err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return usageErrorf("%v", flagNames(err))
	}
	// The traffic loop holds one P (it waits in raw syscalls, out of the
	// scheduler's way); a second one keeps signal handling and progress
	// responsive. Started on one CPU (taskset -c 1) Go picks 1.
	if err := set.PinProcess(max(2, runtime.GOMAXPROCS(0))); err != nil {
		return err
	}

	var bar *loadBar
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar = &loadBar{w: stderr}
		c.Progress = bar
		defer bar.finish()
	}

	ctx, stop := notifyInterrupts()
	defer stop()
	if err := out.connect(c.Target); err != nil {
		return err
	}
	defer out.close()
	out.hook(&c, stderr)
	res, err := loadgen.Run(ctx, c)
	if bar != nil {
		bar.finish()
	}
	if err != nil {
		if ctx.Err() != nil {
			return &exitError{code: interruptStatus(ctx), err: fmt.Errorf("interrupted (%v): the window was not measured whole, nothing written", context.Cause(ctx))}
		}
		var le *loadgen.LimitError
		if errors.As(err, &le) {
			return &exitError{code: 1, err: fmt.Errorf("cannot run: %w", err)}
		}
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("write result: %w", err)
		}
	} else if err := writeLoadTable(stdout, res); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	if err := out.write(c, res); err != nil {
		return err
	}
	if f := res.Faults(); f != "" {
		return &exitError{code: 1, err: fmt.Errorf("run completed with faults: %s%s", f, errorExamples(res, "; first "))}
	}
	return nil
}

// flagNames rewrites Config field names in a validation error into the
// flags that set them, so the message points at what the user typed. A
// Config reads 0 as the default, which "(0 = 64)" says; a flag's 0 is
// refused, and leaving the flag out gives the default: "(default 64)".
func flagNames(err error) string {
	s := strings.ReplaceAll(err.Error(), "(0 = ", "(default ")
	for _, r := range [][2]string{
		{"Target", "-target"}, {"Conns", "-conns"}, {"Active", "-active"}, {"Mode", "-mode"},
		{"Rate", "-rate"}, {"Size", "-size"}, {"KeepAlive", "-keepalive"}, {"Warmup", "-warmup"},
		{"Duration", "-duration"}, {"Timeout", "-timeout"}, {"ConnectRate", "-connect-rate"},
		{"Pipeline", "-pipeline"}, {"SourceIPs", "-source-ips"}, {"Proto", "-proto"},
		{"Path", "-path"}, {"Line", "-line"}, {"Expect", "-expect"},
	} {
		s = replaceWord(s, r[0], r[1])
	}
	return s
}

// replaceWord replaces whole-word occurrences of old at the start of a
// line or after a space or "(", as Validate writes field names.
func replaceWord(s, old, new string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		if (i == 0 || s[i-1] == '\n' || s[i-1] == ' ' || s[i-1] == '(') && len(s)-i >= len(old) && s[i:i+len(old)] == old &&
			(i+len(old) == len(s) || s[i+len(old)] == ' ' || s[i+len(old)] == ')') {
			out = append(out, new...)
			i += len(old)
			continue
		}
		out = append(out, s[i])
		i++
	}
	return string(out)
}

func writeLoadTable(w io.Writer, r *loadgen.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	lat := func(ns int64) string { return human.Ns(float64(ns)) }
	fmt.Fprintf(tw, "target\t%s (%s, %d B)\n", r.Target, requestName(r), r.Size)
	fmt.Fprintf(tw, "connections\t%d (%d active, %d idle) opened in %.3f s\n", r.Conns, r.Active, r.Idle, r.ConnectSeconds)
	if r.Mode == traffic.Open {
		sat := ""
		if r.Saturated {
			sat = fmt.Sprintf("  SATURATED (achieved < %.0f%% of requested)", traffic.SaturatedBelow*100)
		}
		fmt.Fprintf(tw, "rate\t%.0f req/s requested, %.0f achieved%s\n", r.RateRequested, r.RateAchieved, sat)
	} else {
		fmt.Fprintf(tw, "rate\t%.0f req/s (closed loop)\n", r.RateAchieved)
	}
	fmt.Fprintf(tw, "requests\t%d in %.3f s\n", r.Requests, float64(r.WindowNs)/1e9)
	fmt.Fprintf(tw, "unanswered\t%d (window requests without a verified echo when the drain ended)\n", r.Unanswered)
	fmt.Fprintf(tw, "lost\t%d (requests in flight on connections that failed)\n", r.Lost)
	fmt.Fprintf(tw, "\tp50\tp90\tp99\tp99.9\tp99.99\tmax\tmean\n")
	for _, row := range []struct {
		name string
		l    loadgen.LatencySummary
	}{{"latency", r.Latency}, {"service", r.ServiceLatency}} {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row.name, lat(row.l.P50), lat(row.l.P90), lat(row.l.P99),
			lat(row.l.P999), lat(row.l.P9999), lat(row.l.Max), lat(int64(row.l.Mean)))
	}
	cpu := "-"
	if r.Requests > 0 {
		cpu = fmt.Sprintf("%.0f ns/req", r.ClientCPUPerRq)
	}
	fmt.Fprintf(tw, "client cpu\t%.3f s (%s)\n", float64(r.ClientCPUNs)/1e9, cpu)
	if r.KeepAliveNs > 0 {
		fmt.Fprintf(tw, "keep-alives\t%d verified\n", r.KeepAlives)
	}
	errs := r.ErrorString()
	if errs == "" {
		errs = "none"
	}
	fmt.Fprintf(tw, "errors\t%s%s\n", errs, errorExamples(r, "\n\tfirst "))
	return tw.Flush()
}

// requestName names what r sent: the protocol, and for the request/reply
// protocols the request.
func requestName(r *loadgen.Result) string {
	switch r.Proto {
	case traffic.Redis:
		return "redis PING"
	case traffic.HTTP:
		return "http GET " + r.Path
	case traffic.Line:
		s := fmt.Sprintf("line %q", r.Line)
		if r.Expect != "" {
			s += fmt.Sprintf(", reply starting %q", r.Expect)
		}
		return s
	}
	return string(r.Proto)
}

// errorExamples formats r's error examples in kind order, each after sep:
// "" when there are none.
func errorExamples(r *loadgen.Result, sep string) string {
	kinds := slices.Sorted(maps.Keys(r.ErrorExamples))
	var b strings.Builder
	for _, k := range kinds {
		fmt.Fprintf(&b, "%s%s: %s", sep, k, r.ErrorExamples[k])
	}
	return b.String()
}

// loadBar shows Run's progress as a progress bar (only used when stderr
// is a terminal).
type loadBar struct {
	w     io.Writer
	phase string
	bar   *progressbar.ProgressBar
}

var _ loadgen.ProgressReporter = (*loadBar)(nil)

// Write satisfies io.Writer so a loadBar can be Config.Progress; Run
// calls Report instead.
func (b *loadBar) Write(p []byte) (int, error) { return len(p), nil }

func (b *loadBar) Report(phase string, done, total int64) {
	if phase != b.phase || b.bar == nil {
		b.finish()
		b.phase = phase
		desc := phase
		if phase != "connect" {
			desc += " (ms)"
		}
		b.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(b.w),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
		)
	}
	_ = b.bar.Set64(done)
}

func (b *loadBar) finish() {
	if b.bar != nil {
		_ = b.bar.Finish()
		b.bar = nil
	}
}

// spinField turns a -spin or -spin-reply value into its Config field:
// the flag's 0 (never) is the field's negative; the field's 0 would be
// the default.
func spinField(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
