package start

import (
	"slices"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/server"
)

// TestOrderMatchesLineup: lineup.Order and Default, which packages that do
// not link the servers (scenarios, report) use, name exactly the known
// backends, variants after the defaults, and every one of them starts.
func TestOrderMatchesLineup(t *testing.T) {
	if got := lineup.Names(); !slices.Equal(got, lineup.Order) {
		t.Errorf("known backends %v; lineup.Order says %v", got, lineup.Order)
	}
	for _, name := range lineup.Order {
		b, err := lineup.Lookup(name)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", name, err)
		}
		if want := !slices.Contains(lineup.Default, name); b.Variant != want {
			t.Errorf("%s: Variant = %v; want %v (in Default: %v)", name, b.Variant, want, !want)
		}
		srv, err := Server(name, server.Config{Addr: "127.0.0.1:0"})
		if err != nil {
			t.Errorf("Server(%q): %v", name, err)
			continue
		}
		done := make(chan error, 1)
		go func() { done <- srv.Serve() }()
		srv.Shutdown()
		if err := <-done; err != nil {
			t.Errorf("%s: Serve: %v", name, err)
		}
	}
}

// TestServerProtoNotServed: a request/reply protocol of other servers is
// refused by every backend, with the way to drive such a server.
func TestServerProtoNotServed(t *testing.T) {
	for _, name := range lineup.Order {
		_, err := Server(name, server.Config{Addr: "127.0.0.1:0", Proto: traffic.Redis})
		if err == nil || !strings.Contains(err.Error(), "proto redis: muxbench's own servers speak only echo and sockperf") {
			t.Errorf("Server(%q, redis) = %v; want the refusal", name, err)
		}
	}
}

func TestServerUnknown(t *testing.T) {
	if _, err := Server("nosuch", server.Config{Addr: "127.0.0.1:0"}); err == nil {
		t.Error("Server(nosuch) = nil error; want one")
	}
}

// TestPitfallsApart: every pitfall is registered, marked a pitfall (and not
// a variant), kept out of Names and Order so no sweep or test ranges over
// it by accident, and starts.
func TestPitfallsApart(t *testing.T) {
	if len(lineup.Pitfalls) == 0 {
		t.Fatal("lineup.Pitfalls is empty")
	}
	for _, name := range lineup.Pitfalls {
		b, err := lineup.Lookup(name)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", name, err)
		}
		if !b.Pitfall || b.Variant || !b.EventLoop() {
			t.Errorf("%s: Pitfall %v, Variant %v, event loop %v; want true, false, true", name, b.Pitfall, b.Variant, b.EventLoop())
		}
		if slices.Contains(lineup.Names(), name) || slices.Contains(lineup.Order, name) {
			t.Errorf("%s is in lineup.Names or Order; want pitfalls only in lineup.Pitfalls", name)
		}
		srv, err := Server(name, server.Config{Addr: "127.0.0.1:0"})
		if err != nil {
			t.Errorf("Server(%q): %v", name, err)
			continue
		}
		done := make(chan error, 1)
		go func() { done <- srv.Serve() }()
		srv.Shutdown()
		if err := <-done; err != nil {
			t.Errorf("%s: Serve: %v", name, err)
		}
	}
	for _, name := range backends.Names() {
		if info, _ := backends.Lookup(name); info.Pitfall != backends.NoPitfall && !slices.Contains(lineup.Pitfalls, name) {
			t.Errorf("registered pitfall %s is missing from lineup.Pitfalls", name)
		}
	}
	for _, name := range lineup.Order {
		if b, _ := lineup.Lookup(name); b.Pitfall {
			t.Errorf("%s in lineup.Order is a pitfall", name)
		}
	}
}
