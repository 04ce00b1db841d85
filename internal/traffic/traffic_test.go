package traffic

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		mode Mode
		ok   bool
	}{{"", Open, true}, {"open", Open, true}, {"closed", Closed, true}, {"Open", "", false}, {"half", "", false}} {
		got, err := ParseMode(tc.in)
		if got != tc.mode || (err == nil) != tc.ok {
			t.Errorf("ParseMode(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.mode, tc.ok)
		}
	}
	for _, tc := range []struct {
		in    string
		proto Proto
		ok    bool
	}{{"", Echo, true}, {"echo", Echo, true}, {"sockperf", Sockperf, true}, {"redis", Redis, true},
		{"http", HTTP, true}, {"line", Line, true}, {"HTTP", "", false}, {"memcached", "", false}} {
		got, err := ParseProto(tc.in)
		if got != tc.proto || (err == nil) != tc.ok {
			t.Errorf("ParseProto(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.proto, tc.ok)
		}
	}
	_, err := ParseProto("memcached")
	if want := `unknown protocol "memcached" (want echo, sockperf, redis, http or line)`; err == nil || err.Error() != want {
		t.Errorf("ParseProto(memcached) error = %v; want %s", err, want)
	}
}

// TestServed: exactly the echoing protocols are served by muxbench's own
// servers, and the refusal names them and the way to drive the others.
func TestServed(t *testing.T) {
	for _, p := range append(Protos, "") {
		err := CheckServed(p)
		if (err == nil) != p.Echoes() {
			t.Errorf("CheckServed(%q) = %v; Echoes() = %v: want an error exactly for the non-echo protocols", p, err, p.Echoes())
		}
		if err == nil {
			continue
		}
		for _, want := range []string{"echo and sockperf", "muxbench load -target HOST:PORT -proto " + string(p)} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("CheckServed(%q) = %q; want it to contain %q", p, err, want)
			}
		}
	}
}
