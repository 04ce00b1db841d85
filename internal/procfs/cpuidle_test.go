package procfs

import (
	"reflect"
	"testing"
)

func TestParseIdleState(t *testing.T) {
	got, err := ParseIdleState([]byte("haltpoll idle\n"), []byte("6381809\n"), []byte("19628333421\n"))
	want := IdleState{Name: "haltpoll idle", Entries: 6381809, TimeNs: 19628333421000}
	if err != nil || got != want {
		t.Errorf("ParseIdleState = %+v, %v; want %+v", got, err, want)
	}
	for _, bad := range [][3]string{
		{"", "1", "1"},
		{"C1", "x", "1"},
		{"C1", "1", "-3"},
		{"C1", "1", "18446744073709551615"}, // µs that overflow as ns
	} {
		if _, err := ParseIdleState([]byte(bad[0]), []byte(bad[1]), []byte(bad[2])); err == nil {
			t.Errorf("ParseIdleState(%q) succeeded; want an error", bad)
		}
	}
}

func TestIdleDelta(t *testing.T) {
	st := func(name string, n, ns uint64) IdleState { return IdleState{Name: name, Entries: n, TimeNs: ns} }
	start := map[int][]IdleState{
		0: {st("POLL", 10, 100), st("C1", 50, 5000)},
		1: {st("POLL", 1, 1), st("C1", 7, 70)},
	}
	end := map[int][]IdleState{
		0: {st("POLL", 12, 130), st("C1", 80, 9000)},
		1: {st("POLL", 1, 1), st("C1", 17, 1070)},
	}
	for _, tt := range []struct {
		name string
		cpus []int
		end  map[int][]IdleState
		want []IdleState
		ok   bool
	}{
		{"one CPU", []int{0}, end, []IdleState{st("POLL", 2, 30), st("C1", 30, 4000)}, true},
		{"summed over two", []int{0, 1}, end, []IdleState{st("POLL", 2, 30), st("C1", 40, 5000)}, true},
		{"a CPU missing", []int{0, 2}, end, nil, false},
		{"no CPU", nil, end, nil, false},
		{"a count went back", []int{0}, map[int][]IdleState{0: {st("POLL", 9, 130), st("C1", 80, 9000)}}, nil, false},
		{"states changed", []int{0}, map[int][]IdleState{0: {st("POLL", 12, 130)}}, nil, false},
		{"renamed", []int{0}, map[int][]IdleState{0: {st("POLL", 12, 130), st("C2", 80, 9000)}}, nil, false},
	} {
		got, ok := IdleDelta(start, tt.end, tt.cpus)
		if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: IdleDelta = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseIdleState(f *testing.F) {
	f.Add("C1", "12", "3400")
	f.Fuzz(func(t *testing.T, name, usage, timeUs string) {
		s, err := ParseIdleState([]byte(name), []byte(usage), []byte(timeUs))
		if err == nil && (s.Name == "" || s.TimeNs%1000 != 0) {
			t.Fatalf("ParseIdleState(%q, %q, %q) = %+v", name, usage, timeUs, s)
		}
	})
}
