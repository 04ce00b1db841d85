package loadgen

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/muxbench/muxbench/internal/traffic"
)

// Config's validation, and the parsers of the rate and duration flags.

// Validate checks c without changing it. Each error names the Config field
// at fault and what would be accepted.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) { errs = append(errs, fieldErrorf(field, "", format, args...)) }
	badDefault := func(field, def, format string, args ...any) {
		errs = append(errs, fieldErrorf(field, def, format, args...))
	}

	if c.Target == "" {
		bad("Target", "{Target} is empty: want host:port, e.g. 127.0.0.1:7000")
	} else if host, port, err := net.SplitHostPort(c.Target); err != nil {
		bad("Target", "{Target} %q: %v (want host:port, e.g. 127.0.0.1:7000)", c.Target, err)
	} else if host == "" {
		bad("Target", "{Target} %q has no host (want host:port, e.g. 127.0.0.1:7000)", c.Target)
	} else if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		bad("Target", "{Target} %q: port %q is not a number in 1..65535", c.Target, port)
	}
	if c.Conns < 1 {
		bad("Conns", "{Conns} is %d: want at least 1", c.Conns)
	}
	if c.Active < 0 || c.Active > c.Conns {
		bad("Active", "{Active} is %d: want 0 (every connection idle) up to {Conns} (%d)", c.Active, c.Conns)
	}
	if c.Churn && c.Active == 0 {
		bad("Churn", "{Churn} with {Active} 0: churn opens and closes the active connections, so give {Active} 1 or more")
	}
	if c.Churn && c.Pipeline > 1 {
		bad("Pipeline", "{Pipeline} %d with Churn: a churned connection carries one request (leave {Pipeline} 0)", c.Pipeline)
	}
	switch c.Mode {
	case "", traffic.Open:
		if c.Active > 0 && !(c.Rate > 0) {
			bad("Rate", "{Rate} is %v: open loop needs a rate > 0 requests/s (or use {Mode} %q)", c.Rate, traffic.Closed)
		}
	case traffic.Closed:
		if c.Rate != 0 {
			bad("Rate", "{Rate} is %v: closed loop sends as fast as the server answers; leave {Rate} 0", c.Rate)
		}
	default:
		bad("Mode", "{Mode} %q: want %q or %q", c.Mode, traffic.Open, traffic.Closed)
	}
	if math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) || c.Rate < 0 || c.Rate > maxRate {
		bad("Rate", "{Rate} %v: want a finite number of requests/s in 0..%g", c.Rate, float64(maxRate))
	}
	maxSize := MaxSize
	if _, err := traffic.ParseProto(string(c.Proto)); err != nil {
		bad("Proto", "{Proto} %q: want %s", c.Proto, traffic.ProtoChoices())
	}
	switch c.Proto {
	case traffic.Sockperf:
		maxSize = MaxSockperfSize
		if c.Size != 0 && c.Size < sockperfHeaderLen {
			bad("Size", "{Size} %d: the sockperf protocol needs at least %d bytes (its header)", c.Size, sockperfHeaderLen)
		}
	case traffic.Redis, traffic.HTTP, traffic.Line:
		if c.Size != 0 {
			bad("Size", "{Size} %d: proto %s sends its own fixed request, so a size has no meaning (leave {Size} 0)", c.Size, c.Proto)
		}
	}
	if c.Size < 0 || c.Size > maxSize {
		badDefault("Size", fmt.Sprintf("%d", DefaultSize), "{Size} %d: want 1..%d bytes", c.Size, maxSize)
	}
	errs = append(errs, c.validateRequest()...)
	if c.KeepAlive < 0 || (c.KeepAlive > 0 && c.KeepAlive < MinKeepAlive) {
		bad("KeepAlive", "{KeepAlive} %v is not a trickle: want 0 (silent idle connections) or an interval of %v or more", c.KeepAlive, MinKeepAlive)
	}
	if c.Warmup < 0 {
		bad("Warmup", "{Warmup} %v is negative", c.Warmup)
	}
	if c.Duration <= 0 {
		bad("Duration", "{Duration} %v: the measured window must be > 0", c.Duration)
	}
	if c.Timeout < 0 {
		badDefault("Timeout", fmt.Sprintf("%v", DefaultTimeout), "{Timeout} %v is negative", c.Timeout)
	}
	if math.IsNaN(c.ConnectRate) || math.IsInf(c.ConnectRate, 0) || c.ConnectRate < 0 {
		badDefault("ConnectRate", fmt.Sprintf("%d", DefaultConnectRate), "{ConnectRate} %v: want connections/s > 0", c.ConnectRate)
	}
	if c.Pipeline < 0 || c.Pipeline > maxPipeline {
		badDefault("Pipeline", fmt.Sprintf("%d", DefaultPipeline), "{Pipeline} %d: want 1..%d requests in flight per connection", c.Pipeline, maxPipeline)
	}
	if !c.LocalPorts.IsZero() && (c.LocalPorts.Lo == 0 || c.LocalPorts.Hi < c.LocalPorts.Lo) {
		bad("LocalPorts", "{LocalPorts} %s: want lo-hi with 1 <= lo <= hi", c.LocalPorts)
	}
	for i, a := range c.SourceIPs {
		if !a.IsValid() {
			bad("SourceIPs", "SourceIPs[%d] is not a valid address", i)
		}
	}
	return errors.Join(errs...)
}

// validateRequest checks Path, Line and Expect against Proto.
func (c Config) validateRequest() []error {
	var errs []error
	bad := func(field, format string, args ...any) { errs = append(errs, fieldErrorf(field, "", format, args...)) }
	switch {
	case c.Path != "" && c.Proto != traffic.HTTP:
		bad("Path", "{Path} %q: only proto %s sends a path (drop it, or use proto %s)", c.Path, traffic.HTTP, traffic.HTTP)
	case c.Path != "" && (c.Path[0] != '/' || len(c.Path) > MaxLineLen || strings.IndexFunc(c.Path, notVisible) >= 0):
		bad("Path", "{Path} %q: want an absolute path of at most %d printable characters without spaces, e.g. / or /index.html?x=1 (escape others as %%XX)", c.Path, MaxLineLen)
	}
	switch {
	case c.Proto == traffic.Line && c.Line == "":
		bad("Line", "{Line} is empty: proto %s sends one fixed request line (give one, e.g. version for memcached)", traffic.Line)
	case c.Line != "" && c.Proto != traffic.Line:
		bad("Line", "{Line} %q: only proto %s sends a request line (drop it, or use proto %s)", c.Line, traffic.Line, traffic.Line)
	case len(c.Line) > MaxLineLen || strings.IndexFunc(c.Line, isControl) >= 0:
		bad("Line", "{Line} %q: want at most %d characters, none a control character (the CRLF that ends it is added)", c.Line, MaxLineLen)
	}
	switch {
	case c.Expect != "" && c.Proto != traffic.Line:
		bad("Expect", "{Expect} %q: only proto %s checks a reply's prefix (redis wants +PONG, http a 2xx status)", c.Expect, traffic.Line)
	case len(c.Expect) > MaxLineLen || strings.IndexFunc(c.Expect, isControl) >= 0:
		bad("Expect", "{Expect} %q: want at most %d characters, none a control character (a prefix of the one reply line)", c.Expect, MaxLineLen)
	}
	return errs
}

// notVisible is true for what may not appear in an HTTP request target
// unescaped: spaces, control characters and non-ASCII.
func notVisible(r rune) bool { return r <= ' ' || r >= 0x7f }

// isControl is true for control characters other than tab, which would
// end or break a request line.
func isControl(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }

const (
	maxRate     = 1e9 // requests/s: a bound that keeps the schedule arithmetic exact
	maxPipeline = 1 << 16
)

// ParseRate parses a request rate as given on the command line: a number of
// requests per second ("5000", "2.5e3"), or a number per duration
// ("5000/1s", "300/1m", "50/s" meaning per one second). It returns
// requests per second, always finite and > 0.
func ParseRate(s string) (float64, error) {
	num, per, hasPer := strings.Cut(strings.TrimSpace(s), "/")
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) || n <= 0 {
		return 0, fmt.Errorf("rate %q: %q is not a positive number of requests (want e.g. 5000 or 5000/1s)", s, num)
	}
	d := time.Second
	if hasPer {
		per = strings.TrimSpace(per)
		if per != "" && (per[0] < '0' || per[0] > '9') && per[0] != '.' {
			per = "1" + per // "50/s" means per one second
		}
		d, err = time.ParseDuration(per)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("rate %q: %q is not a positive duration (want e.g. 5000/1s or 300/1m)", s, per)
		}
	}
	r := n / d.Seconds()
	if math.IsNaN(r) || math.IsInf(r, 0) || r <= 0 || r > maxRate {
		return 0, fmt.Errorf("rate %q is %g requests/s: want more than 0 and at most %g", s, r, float64(maxRate))
	}
	return r, nil
}

// ParseDuration parses a non-negative duration in Go syntax ("500ms",
// "2s", "1m30s"); a bare "0" is zero. The error says what was expected.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("duration %q: want a number with a unit, e.g. 500ms, 2s or 1m", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	return d, nil
}
