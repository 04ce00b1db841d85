package sysctl

import "testing"

func TestParsePositive(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"4096\n", 4096}, {" 128 ", 128}, {"", 7}, {"0\n", 7}, {"-1", 7}, {"x", 7},
	} {
		if got := parsePositive([]byte(tc.in), 7); got != tc.want {
			t.Errorf("parsePositive(%q) = %d; want %d", tc.in, got, tc.want)
		}
	}
}
