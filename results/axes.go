package results

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/muxbench/muxbench/internal/human"
)

// The scenario's axes beside fds and active: how many loops the server
// runs, and whether connections churn.

// Churn is a scenario's churn axis: for each value, true drives every
// request over a connection of its own (connect, one echo, close), so the
// server pays setup per request; false keeps connections open (the
// keep-alive load). Empty means [false]. run.json holds one value as a
// bool ("churn": true, absent when false), as files have since before the
// axis, and both as a list.
type Churn []bool

// Values returns the axis's values in run order; [false] when empty.
func (c Churn) Values() []bool {
	if len(c) == 0 {
		return []bool{false}
	}
	return c
}

// Any reports whether some point of the scenario churns.
func (c Churn) Any() bool {
	for _, v := range c {
		if v {
			return true
		}
	}
	return false
}

// MarshalJSON writes one value as a bool, several as a list.
func (c Churn) MarshalJSON() ([]byte, error) {
	if len(c) == 1 {
		return json.Marshal(c[0])
	}
	return json.Marshal([]bool(c))
}

// UnmarshalJSON reads a bool or a list of bools.
func (c *Churn) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	var one bool
	if err := json.Unmarshal(b, &one); err == nil {
		*c = Churn{one}
		if !one {
			*c = nil
		}
		return nil
	}
	var many []bool
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("churn: %s: want true, false or a list of them", b)
	}
	*c = many
	return nil
}

// LoopCounts returns the scenario's loops axis; [1] when it has none.
func (s Scenario) LoopCounts() []int {
	if len(s.Loops) == 0 {
		return []int{1}
	}
	return s.Loops
}

// Churned reports whether sample s churned: its own flag, or, in a file
// written before churn was an axis, its scenario's one value.
func (s Scenario) Churned(sample Sample) bool {
	return sample.Churn || len(s.Churn) == 1 && s.Churn[0]
}

// WatchedFDs is how many fds a server watches at a point of fds
// (connections plus ServerOwnFDs) when it runs pollers pollers: each
// watches the server's own fds (a listener and the wake-up eventfd)
// besides its share of the connections (backends.Sharing.Pollers).
func WatchedFDs(fds, pollers int) int64 {
	return int64(fds - ServerOwnFDs + ServerOwnFDs*max(pollers, 1))
}

// Rates is a scenario's rate axis: the total requests/s of an open loop,
// one value or several in ascending order, each a point of its own (the
// cost of a wake-up depends on how long the CPU idled before it). Empty
// in closed loop, which paces nothing. run.json holds one rate as a
// number ("rate": 2000, as files have since before the axis), none as 0,
// and several as a list.
type Rates []float64

// Values returns the axis's values in run order; [0] in closed loop.
func (r Rates) Values() []float64 {
	if len(r) == 0 {
		return []float64{0}
	}
	return r
}

// Several reports whether the scenario sweeps the rate: its points
// differ by rate as well as by backend, fds and active.
func (r Rates) Several() bool { return len(r) > 1 }

// MarshalJSON writes one rate as a number, none as 0, several as a list.
func (r Rates) MarshalJSON() ([]byte, error) {
	switch len(r) {
	case 0:
		return []byte("0"), nil
	case 1:
		return json.Marshal(r[0])
	}
	return json.Marshal([]float64(r))
}

// UnmarshalJSON reads a number (0: closed loop, no rate) or a list.
func (r *Rates) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	var one float64
	if err := json.Unmarshal(b, &one); err == nil {
		*r = Rates{one}
		if one == 0 {
			*r = nil
		}
		return nil
	}
	var many []float64
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("rate: %s: want a number of requests/s or a list of them", b)
	}
	*r = many
	return nil
}

// RateOf is the rate axis of one rate: r, or empty when r is 0 (closed
// loop).
func RateOf(r float64) Rates {
	if r == 0 {
		return nil
	}
	return Rates{r}
}

// Text is the rates as people read them: "2,000 req/s", or the axis
// "100, 1,000, 10,000 req/s"; "0 req/s" in closed loop.
func (r Rates) Text() string {
	v := make([]string, len(r.Values()))
	for i, x := range r.Values() {
		v[i] = human.Thousands(x)
	}
	return strings.Join(v, ", ") + " req/s"
}
