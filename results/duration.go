package results

import (
	"fmt"
	"time"
)

// Duration is a time.Duration that results files store as Go duration
// text ("2s", "300ms", "0s"), so run.json stays readable while every
// reader gets the parsed value.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d as time.Duration does ("1m30s").
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes d as duration text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads duration text. An empty text is 0: files written
// before durations were typed said "" for a silent keep-alive.
func (d *Duration) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: want Go duration text such as 2s or 300ms", b)
	}
	*d = Duration(v)
	return nil
}
