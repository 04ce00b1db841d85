package human

import "testing"

func TestNs(t *testing.T) {
	tests := []struct {
		ns            float64
		want, compact string
	}{
		{0, "0", "0"},
		{-5, "0", "0"},
		{812, "812 ns", "812ns"},
		{950, "950 ns", "950ns"},
		{999.4, "999 ns", "999ns"},
		{999.6, "1.00 µs", "1.00µs"},
		{4330, "4.33 µs", "4.33µs"},
		{41_234, "41.2 µs", "41.2µs"},
		{85_000, "85.0 µs", "85.0µs"},
		{99_960, "100 µs", "100µs"},
		{123_456, "123 µs", "123µs"},
		{412e3, "412 µs", "412µs"},
		{999_960, "1.00 ms", "1.00ms"}, // 999.96 µs: not "1000 µs"
		{1_304_000, "1.30 ms", "1.30ms"},
		{2.1e6, "2.10 ms", "2.10ms"},
		{999_960_000, "1.00 s", "1.00s"}, // 999.96 ms: not "1000 ms"
		{1.5e9, "1.50 s", "1.50s"},
		{2_050_000_000, "2.05 s", "2.05s"},
		{1.5e12, "1500 s", "1500s"},
	}
	for _, tt := range tests {
		if got := Ns(tt.ns); got != tt.want {
			t.Errorf("Ns(%v) = %q; want %q", tt.ns, got, tt.want)
		}
		if got := NsCompact(tt.ns); got != tt.compact {
			t.Errorf("NsCompact(%v) = %q; want %q", tt.ns, got, tt.compact)
		}
	}
}

func TestSig3(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{{0, "0.00"}, {0.5, "0.50"}, {9.994, "9.99"}, {9.996, "10.0"}, {99.94, "99.9"}, {99.96, "100"}, {812.4, "812"}, {-41.23, "-41.2"}}
	for _, tt := range tests {
		if got := Sig3(tt.v); got != tt.want {
			t.Errorf("Sig3(%v) = %q; want %q", tt.v, got, tt.want)
		}
	}
}

func TestThousands(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {9980.4, "9,980"}, {1234567, "1,234,567"}, {-1500, "-1,500"}}
	for _, tt := range tests {
		if got := Thousands(tt.v); got != tt.want {
			t.Errorf("Thousands(%v) = %q; want %q", tt.v, got, tt.want)
		}
	}
}

func TestPlural(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{{0, "0 points"}, {1, "1 point"}, {2, "2 points"}, {10001, "10,001 points"}}
	for _, tt := range tests {
		if got := Plural(tt.n, "point"); got != tt.want {
			t.Errorf("Plural(%d, \"point\") = %q; want %q", tt.n, got, tt.want)
		}
	}
}

func TestText(t *testing.T) {
	if got, want := OneLine("  a\n\tb  c "), "a b c"; got != want {
		t.Errorf("OneLine = %q; want %q", got, want)
	}
	if got, want := MDCell("a|b\nc"), `a\|b c`; got != want {
		t.Errorf("MDCell = %q; want %q", got, want)
	}
}

func TestNsUnit(t *testing.T) {
	tests := []struct {
		ns    float64
		scale float64
		unit  string
	}{{0, 1, "ns"}, {999.4, 1, "ns"}, {999.6, 1e3, "µs"}, {500e3, 1e3, "µs"}, {999_960, 1e6, "ms"}, {1e6, 1e6, "ms"}, {2e9, 1e9, "s"}}
	for _, tt := range tests {
		if scale, unit := NsUnit(tt.ns); scale != tt.scale || unit != tt.unit {
			t.Errorf("NsUnit(%v) = %v, %q; want %v, %q", tt.ns, scale, unit, tt.scale, tt.unit)
		}
	}
}
