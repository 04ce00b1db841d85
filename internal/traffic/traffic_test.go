package traffic

import "testing"

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
	}{{"", Echo, true}, {"echo", Echo, true}, {"sockperf", Sockperf, true}, {"http", "", false}} {
		got, err := ParseProto(tc.in)
		if got != tc.proto || (err == nil) != tc.ok {
			t.Errorf("ParseProto(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.proto, tc.ok)
		}
	}
}
