package loadgen

import (
	"net/netip"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/muxbench/muxbench/internal/traffic"
)

// Error kinds as counter indexes (see the ErrKind constants).
const (
	ekMismatch = iota
	ekShort
	ekTimeout
	ekReset
	ekClosed
	ekConnect
	ekIdleClosed
	ekIdleReset
	ekWrite
	ekRead
	ekWrongReply
	ekHTTPStatus
	ekHTTPClose
	numErrKinds
)

var errKindNames = [numErrKinds]string{
	ekMismatch: ErrKindMismatch, ekShort: ErrKindShort, ekTimeout: ErrKindTimeout,
	ekReset: ErrKindReset, ekClosed: ErrKindClosed, ekConnect: ErrKindConnect,
	ekIdleClosed: ErrKindIdleClosed, ekIdleReset: ErrKindIdleReset,
	ekWrite: ErrKindWrite, ekRead: ErrKindRead,
	ekWrongReply: ErrKindWrongReply, ekHTTPStatus: ErrKindHTTPStatus, ekHTTPClose: ErrKindHTTPClose,
}

// tally is what the traffic loop counts for the Result, owned by the loop
// goroutine until it exits. Window requests are those intended (closed
// loop: written) in the measured window, see window.contains.
type tally struct {
	winIssued   int64 // window requests: open loop due, closed loop written
	requests    int64 // window requests answered, in the window or the drain
	runRequests int64 // completed at any time
	keepAlives  int64 // keep-alive echoes verified in the window
	lost        int64 // requests in flight on connections that failed
	waits       int64 // epoll waits in the window
	waitEvents  int64 // events they returned
	errs        [numErrKinds]int64
	// Latency of window requests from the intended send time (hist) and
	// from the first write (svc; closed loop: not recorded, see result).
	hist, svc *hdrhistogram.Histogram
}

func newTally() tally { return tally{hist: NewHistogram(), svc: NewHistogram()} }

// count counts one error of kind (an ek constant).
func (t *tally) count(kind int) { t.errs[kind]++ }

// measures are what Run measured outside the loop.
type measures struct {
	sources         []netip.Addr // source addresses bound
	connectSeconds  float64      // opening every connection
	populateSeconds float64      // that plus Config.OnConnected
	runCPUNs        int64        // CPU over all traffic
	windowCPUNs     int64        // CPU over the window
	examples        []string     // by error kind: the first error described, or ""
}

// result returns the Result of a run of c that counted t.
func (t *tally) result(c Config, m measures) (*Result, error) {
	svc := t.svc
	if c.mode() == traffic.Closed {
		// Intended and actual send times are the same in closed loop;
		// the loop recorded only the corrected histogram.
		svc = t.hist.Clone()
	}
	r := &Result{
		Target:          c.Target,
		Conns:           c.Conns,
		Active:          c.Active,
		Idle:            c.Conns - c.Active,
		Mode:            c.mode(),
		Proto:           c.proto(),
		Size:            c.size(),
		Line:            c.Line,
		Expect:          c.Expect,
		KeepAliveNs:     int64(c.KeepAlive),
		Requests:        t.requests,
		Unanswered:      t.winIssued - t.requests,
		KeepAlives:      t.keepAlives,
		Lost:            t.lost,
		RunRequests:     t.runRequests,
		RunCPUNs:        m.runCPUNs,
		ClientWaits:     t.waits,
		ClientEvents:    t.waitEvents,
		ClientCPUNs:     m.windowCPUNs,
		ConnectSeconds:  m.connectSeconds,
		PopulateSeconds: m.populateSeconds,
		WindowNs:        int64(c.Duration),
		Errors:          map[string]int64{},
		SourceAddrs:     []string{},
		Corrected:       t.hist,
		Uncorrected:     svc,
	}
	for _, a := range m.sources {
		r.SourceAddrs = append(r.SourceAddrs, a.String())
	}
	if c.proto() == traffic.HTTP {
		r.Path = c.path()
	}
	for k, n := range t.errs {
		if n != 0 {
			r.Errors[errKindNames[k]] = n
		}
		if k < len(m.examples) && m.examples[k] != "" {
			if r.ErrorExamples == nil {
				r.ErrorExamples = map[string]string{}
			}
			r.ErrorExamples[errKindNames[k]] = m.examples[k]
		}
	}
	// Window requests answered (some perhaps in the drain) over the
	// window: with Requests counted by send time, this is the rate the
	// server kept up with for the requests of the window.
	r.RateAchieved = float64(r.Requests) / c.Duration.Seconds()
	if r.Mode == traffic.Open && c.Active > 0 {
		r.RateRequested = c.Rate
		r.Saturated = r.RateAchieved < traffic.SaturatedBelow*c.Rate
	}
	if r.Requests > 0 {
		r.ClientCPUPerRq = float64(r.ClientCPUNs) / float64(r.Requests)
	}
	r.Latency = Summarize(t.hist)
	r.ServiceLatency = Summarize(svc)
	var err error
	if r.Histogram, err = EncodeHistogram(t.hist); err != nil {
		return nil, err
	}
	if r.ServiceHistogram, err = EncodeHistogram(svc); err != nil {
		return nil, err
	}
	return r, nil
}
