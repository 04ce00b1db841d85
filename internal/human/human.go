// Package human formats figures and text for people to read: durations in
// nanoseconds, counts with thousands separators, plurals, and text bound
// for one line or one markdown table cell. The terminal table, report.md
// and compare all format through it, so a value reads the same in each.
package human

import (
	"math"
	"strconv"
	"strings"
)

// nsUnits are the units Ns scales to, largest first.
var nsUnits = []struct {
	scale float64
	name  string
}{{1e9, "s"}, {1e6, "ms"}, {1e3, "µs"}}

// NsUnit returns the unit for a nanosecond figure shown with three
// significant digits, and its size in ns: the unit that keeps the digits
// between 1 and 1000 after rounding, so 999.96 µs (which rounds to 1000
// µs) is in ms. Chart ticks use it too, so an axis and a table agree.
func NsUnit(ns float64) (scale float64, unit string) {
	for _, u := range nsUnits {
		if ns >= u.scale*0.9995 {
			return u.scale, u.name
		}
	}
	return 1, "ns"
}

// nsParts returns ns as three significant digits and its unit; zero or
// less (nothing measured) is "0" with no unit.
func nsParts(ns float64) (digits, unit string) {
	if !(ns > 0) {
		return "0", ""
	}
	scale, unit := NsUnit(ns)
	return Sig3(ns / scale), unit
}

// Ns formats a nanosecond figure for prose and markdown: "812 ns",
// "41.2 µs", "1.00 ms", "2.05 s"; "0" for zero or less.
func Ns(ns float64) string {
	d, u := nsParts(ns)
	if u == "" {
		return d
	}
	return d + " " + u
}

// NsCompact is Ns without the space, for the terminal table's narrow
// columns: "812ns", "41.2µs", "1.00ms".
func NsCompact(ns float64) string {
	d, u := nsParts(ns)
	return d + u
}

// Sig3 formats v with three significant digits: 0.812, 41.2, 812; 1000
// and above as a whole number. The thresholds allow for rounding, so 99.96
// is "100", not "100.0".
func Sig3(v float64) string {
	switch a := math.Abs(v); {
	case a >= 99.95:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 9.995:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// Thousands formats a count or rate, rounded to a whole number, with
// thousands separators: 10,000.
func Thousands(v float64) string {
	s := strconv.FormatFloat(math.Abs(v), 'f', 0, 64)
	var b strings.Builder
	if v <= -0.5 {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Plural is n with its noun, made plural unless n is 1: "1 repetition",
// "10,001 fds".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return Thousands(float64(n)) + " " + noun + "s"
}

// OneLine collapses runs of white space, newlines included, to one space.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// MDCell escapes what would break a markdown table cell: pipes and
// newlines.
func MDCell(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.ReplaceAll(s, "\n", " ")
}
