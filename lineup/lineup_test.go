package lineup

import (
	"slices"
	"strings"
	"testing"

	fdselect "github.com/muxbench/muxbench/backends/select"
)

// TestLookupKinds: a poller name is the event loop over that poller, gonet
// is a whole server, and each carries its limit and variant flag.
func TestLookupKinds(t *testing.T) {
	for _, tc := range []struct {
		name      string
		eventLoop bool
		variant   bool
		maxFD     int
	}{
		{"select", true, false, fdselect.FDSetSize},
		{"poll", true, false, 0},
		{"epoll-et", true, false, 0},
		{"epoll-et-drain", true, true, 0},
		{GoNet, false, false, 0},
	} {
		b, err := Lookup(tc.name)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", tc.name, err)
		}
		if b.Name != tc.name || b.EventLoop() != tc.eventLoop || b.Variant != tc.variant || b.MaxFD != tc.maxFD {
			t.Errorf("Lookup(%q) = name %q, event loop %v, variant %v, MaxFD %d; want %q, %v, %v, %d",
				tc.name, b.Name, b.EventLoop(), b.Variant, b.MaxFD, tc.name, tc.eventLoop, tc.variant, tc.maxFD)
		}
		if b.EventLoop() && b.Poller.Name != tc.name {
			t.Errorf("Lookup(%q).Poller.Name = %q", tc.name, b.Poller.Name)
		}
		if b.Description == "" {
			t.Errorf("Lookup(%q): no description for `muxbench list`", tc.name)
		}
	}
}

func TestLookupUnknown(t *testing.T) {
	_, err := Lookup("kqueue")
	if err == nil {
		t.Fatal("Lookup(kqueue) = nil error; want one")
	}
	for _, want := range []string{`"kqueue"`, "epoll-lt", GoNet} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

// TestNamesOrder: Default comes first, in Order's order, and no name is
// listed twice.
func TestNamesOrder(t *testing.T) {
	names := Names()
	if !slices.Equal(names[:len(Default)], Default) {
		t.Errorf("Names() starts %v; want Default %v first", names[:len(Default)], Default)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("%s listed twice", n)
		}
		seen[n] = true
	}
}
