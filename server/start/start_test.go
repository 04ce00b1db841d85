package start

import (
	"slices"
	"testing"

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

func TestServerUnknown(t *testing.T) {
	if _, err := Server("nosuch", server.Config{Addr: "127.0.0.1:0"}); err == nil {
		t.Error("Server(nosuch) = nil error; want one")
	}
}
