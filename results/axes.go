package results

import (
	"bytes"
	"encoding/json"
	"fmt"
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
