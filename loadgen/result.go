package loadgen

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/muxbench/muxbench/internal/traffic"
)

// Error kinds counted in Result.Errors. Each count is one event: a reset
// that loses ten requests in flight counts once.
const (
	ErrKindMismatch   = "mismatch"    // an echoed byte differed from what was sent (or unsolicited bytes)
	ErrKindShort      = "short"       // the connection closed in the middle of an echo
	ErrKindTimeout    = "timeout"     // no complete echo within Timeout
	ErrKindReset      = "reset"       // ECONNRESET / EPIPE on an active connection
	ErrKindClosed     = "closed"      // the server closed an active connection between echoes
	ErrKindConnect    = "connect"     // reopening an active connection failed
	ErrKindIdleClosed = "idle_closed" // the server closed an idle connection (e.g. it rejected the fd)
	ErrKindIdleReset  = "idle_reset"  // an idle connection was reset
	ErrKindWrite      = "write"       // any other write error, or a keep-alive that could not be written at once
	ErrKindRead       = "read"        // any other read error
	// Request/reply protocols (redis, http, line); see Result.ErrorExamples.
	ErrKindWrongReply = "wrong_reply" // a reply not of the protocol's form: not +PONG (an -ERR too), a line without the expected prefix, a malformed HTTP reply, or bytes when no reply was due
	ErrKindHTTPStatus = "http_status" // an HTTP reply whose status is not 2xx
	ErrKindHTTPClose  = "http_close"  // an HTTP reply ending the keep-alive connection (Connection: close, or HTTP/1.0 without keep-alive); the reply itself counts
)

// Histogram geometry: nanoseconds from 1 ns to 100 s, 3 significant digits.
const (
	HistLowest  = 1
	HistHighest = 100e9
	HistDigits  = 3
)

// Result is the outcome of one Run. Its JSON form is the schema documented
// in the package comment.
type Result struct {
	Target        string        `json:"target"`
	Conns         int           `json:"conns"`
	Active        int           `json:"active"`
	Idle          int           `json:"idle"`
	Mode          traffic.Mode  `json:"mode"`
	Proto         traffic.Proto `json:"proto"`
	Size          int           `json:"size"`             // bytes per request (redis, http, line: of the one fixed request)
	Path          string        `json:"path,omitempty"`   // http: the path of every GET
	Line          string        `json:"line,omitempty"`   // line: the request line (without its CRLF)
	Expect        string        `json:"expect,omitempty"` // line: the prefix every reply must start with
	KeepAliveNs   int64         `json:"keepalive_ns"`
	RateRequested float64       `json:"rate_requested"` // requests/s; 0 in closed loop
	// RateAchieved is Requests / the window: window requests answered per
	// second of window, whether the echo arrived in the window or in the
	// drain after it.
	RateAchieved float64 `json:"rate_achieved"`
	// Requests counts window requests answered with a verified echo, in
	// the window or in the drain after it. A request belongs to the window
	// by its send time in [Warmup, Warmup+Duration): the intended one in
	// open loop, the actual one in closed loop; warm-up requests never
	// count, even when answered inside the window.
	Requests int64 `json:"requests"`
	// Unanswered counts window requests without a verified echo when the
	// drain ended (after at most min(Timeout, 1 s)): still in flight, not
	// yet written (open loop), or lost on a connection that failed (also
	// in Lost). Requests + Unanswered is every window request. The
	// histograms lack these requests' latencies, which were the longest,
	// so a caller should flag a sample with Unanswered > 0.
	Unanswered int64 `json:"unanswered"`
	Saturated  bool  `json:"saturated"` // open loop: RateAchieved < 95% of RateRequested
	// Latency is measured from each request's intended send time
	// (coordinated omission corrected); in closed loop the intended time is
	// the actual one.
	Latency LatencySummary `json:"latency_ns"`
	// ServiceLatency is measured from the first write of each request
	// (uncorrected service time).
	ServiceLatency LatencySummary `json:"service_latency_ns"`
	// Errors counts error events by kind (the ErrKind constants); kinds
	// with no events are absent.
	Errors         map[string]int64 `json:"errors"`
	KeepAlives     int64            `json:"keepalives"`            // verified keep-alive echoes in the window
	Lost           int64            `json:"lost"`                  // requests in flight on active connections that failed
	ClientCPUNs    int64            `json:"client_cpu_ns"`         // user+sys of this process over the window (getrusage RUSAGE_SELF)
	ClientCPUPerRq float64          `json:"client_cpu_ns_per_req"` // ClientCPUNs / Requests
	ConnectSeconds float64          `json:"connect_seconds"`       // time to open all Conns connections
	// PopulateSeconds is ConnectSeconds plus the time spent in
	// Config.OnConnected: until the server was fully populated, as far as
	// the hook could tell. Equal to ConnectSeconds without a hook.
	PopulateSeconds float64 `json:"populate_seconds"`
	// RunRequests and RunCPUNs cover all traffic (warm-up, window and
	// drain, not connection set-up), for comparing with a server whose
	// CPU can only be sampled around the whole run.
	RunRequests  int64    `json:"run_requests"`
	RunCPUNs     int64    `json:"run_cpu_ns"`
	ClientWaits  int64    `json:"client_waits"`  // epoll waits of the traffic loop in the window
	ClientEvents int64    `json:"client_events"` // events those waits returned
	WindowNs     int64    `json:"window_ns"`     // the measured window
	SourceAddrs  []string `json:"source_addrs"`  // local addresses bound, [] = kernel's choice
	// Histogram and ServiceHistogram are Latency's and ServiceLatency's
	// histograms in hdrhistogram's V2 compressed base64 encoding (see
	// EncodeHistogram); DecodeHistograms restores the two fields below.
	Histogram        string `json:"histogram"`
	ServiceHistogram string `json:"service_histogram"`

	// ErrorExamples describes the first error of a kind, quoting the
	// reply, where there is more to say than the count (wrong_reply,
	// http_status, http_close: e.g. `redis replied "-ERR ..." to PING`).
	ErrorExamples map[string]string `json:"error_examples,omitempty"`

	Corrected   *hdrhistogram.Histogram `json:"-"` // from the intended send time
	Uncorrected *hdrhistogram.Histogram `json:"-"` // from the actual send time
}

// LatencySummary is a latency distribution in nanoseconds, with the same
// fields as the harness's results.Latency.
type LatencySummary struct {
	P50   int64   `json:"p50"`
	P90   int64   `json:"p90"`
	P99   int64   `json:"p99"`
	P999  int64   `json:"p999"`
	P9999 int64   `json:"p9999"`
	Max   int64   `json:"max"`
	Mean  float64 `json:"mean"`
	Count int64   `json:"count"`
}

// ErrorCount returns the total of all error events.
func (r *Result) ErrorCount() int64 {
	var n int64
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// Faults says what the run did not get right, "" when nothing: the error
// events (ErrorString) and, apart from them, the window requests without
// a verified echo (Unanswered) and the requests lost on connections that
// failed (Lost). A server that accepts and never answers counts no error
// event, only unanswered requests: this is the check that sees it.
func (r *Result) Faults() string {
	var parts []string
	if s := r.ErrorString(); s != "" {
		parts = append(parts, s)
	}
	if r.Unanswered > 0 {
		parts = append(parts, fmt.Sprintf("unanswered=%d", r.Unanswered))
	}
	if r.Lost > 0 {
		parts = append(parts, fmt.Sprintf("lost=%d", r.Lost))
	}
	return strings.Join(parts, " ")
}

// ErrorString formats Errors as "kind=n kind=n" in kind order, "" if none.
func (r *Result) ErrorString() string {
	kinds := make([]string, 0, len(r.Errors))
	for k, v := range r.Errors {
		if v != 0 {
			kinds = append(kinds, k)
		}
	}
	sort.Strings(kinds)
	var b strings.Builder
	for i, k := range kinds {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, r.Errors[k])
	}
	return b.String()
}

// DecodeHistograms restores Corrected and Uncorrected from the encoded
// Histogram and ServiceHistogram fields, e.g. after reading a Result from
// JSON.
func (r *Result) DecodeHistograms() error {
	var err error
	if r.Corrected, err = DecodeHistogram(r.Histogram); err != nil {
		return fmt.Errorf("decode latency histogram: %w", err)
	}
	if r.Uncorrected, err = DecodeHistogram(r.ServiceHistogram); err != nil {
		return fmt.Errorf("decode service latency histogram: %w", err)
	}
	return nil
}

// NewHistogram returns an empty latency histogram with the package's
// geometry (1 ns to 100 s, 3 significant digits).
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(HistLowest, HistHighest, HistDigits)
}

// Summarize returns h's percentiles, max, mean and count. Note that
// hdrhistogram's ValueAtQuantile takes a percentage (0-100).
func Summarize(h *hdrhistogram.Histogram) LatencySummary {
	if h == nil || h.TotalCount() == 0 {
		return LatencySummary{}
	}
	return LatencySummary{
		P50:   h.ValueAtQuantile(50),
		P90:   h.ValueAtQuantile(90),
		P99:   h.ValueAtQuantile(99),
		P999:  h.ValueAtQuantile(99.9),
		P9999: h.ValueAtQuantile(99.99),
		Max:   h.Max(),
		Mean:  h.Mean(),
		Count: h.TotalCount(),
	}
}

// EncodeHistogram encodes h losslessly as hdrhistogram's V2 compressed
// format in base64, the form other HdrHistogram implementations read.
func EncodeHistogram(h *hdrhistogram.Histogram) (string, error) {
	if h == nil {
		return "", errors.New("encode histogram: nil histogram")
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("encode histogram: %w", err)
	}
	return string(b), nil
}

// DecodeHistogram decodes what EncodeHistogram produced. An empty string
// decodes to an empty histogram.
func DecodeHistogram(s string) (*hdrhistogram.Histogram, error) {
	if s == "" {
		return NewHistogram(), nil
	}
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	return h, nil
}

// ErrMergeDropped is returned by MergeHistograms when a value did not fit
// the merged histogram's range: the merge would not have been lossless.
var ErrMergeDropped = errors.New("values outside the histogram's range were dropped")

// MergeHistograms returns a new histogram holding every value of hs, e.g.
// the histograms of several runs or several generators driving one server.
// Nil entries are skipped.
func MergeHistograms(hs ...*hdrhistogram.Histogram) (*hdrhistogram.Histogram, error) {
	out := NewHistogram()
	for i, h := range hs {
		if h == nil {
			continue
		}
		if dropped := out.Merge(h); dropped != 0 {
			return nil, fmt.Errorf("merge histogram %d: %d values: %w", i, dropped, ErrMergeDropped)
		}
	}
	return out, nil
}

// recordClamped records v, clamped into the histogram's range so that an
// extreme value still counts instead of being silently lost.
func recordClamped(h *hdrhistogram.Histogram, v int64) {
	if v < HistLowest {
		v = HistLowest
	} else if v > HistHighest {
		v = HistHighest
	}
	_ = h.RecordValue(v) // cannot fail: v is within the histogram's range
}
