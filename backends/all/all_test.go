package all

import (
	"slices"
	"testing"

	"github.com/muxbench/muxbench/backends"
)

// TestOrderMatchesRegistry: backends.Order and Default, which packages
// that do not link the backends (scenarios, report) use, name exactly the
// registered backends, variants after the defaults.
func TestOrderMatchesRegistry(t *testing.T) {
	if got := backends.Names(); !slices.Equal(got, backends.Order) {
		t.Errorf("registered %v; backends.Order says %v", got, backends.Order)
	}
	for _, name := range backends.Order {
		info, err := backends.Lookup(name)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", name, err)
		}
		if want := !slices.Contains(backends.Default, name); info.Variant != want {
			t.Errorf("%s: Variant = %v; want %v (in Default: %v)", name, info.Variant, want, !want)
		}
	}
}
