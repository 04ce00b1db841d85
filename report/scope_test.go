package report

import (
	"testing"

	"github.com/muxbench/muxbench/results"
)

// TestScopeLabel: the y label names the scope most lines count (the loop
// thread, on a tie); every other line names its own in the legend.
func TestScopeLabel(t *testing.T) {
	loop, proc, tree := results.CPUScopeLoop, results.CPUScopeProcess, results.CPUScopeTree
	for _, tt := range []struct {
		name   string
		scopes []string // per line, as cpuScope found them
		label  string
		legend []string // Scope left on each line
	}{
		{"idle-sweep", []string{loop, loop, loop, proc}, loop, []string{"", "", "", proc}},
		{"peers", []string{tree, tree, loop}, tree, []string{"", "", loop}},
		{"a tie", []string{proc, loop}, loop, []string{proc, ""}},
		{"one external", []string{tree}, tree, []string{""}},
		{"gonet alone", []string{proc}, proc, []string{""}},
	} {
		series := make([]Series, len(tt.scopes))
		for i, sc := range tt.scopes {
			series[i].Scope = sc
		}
		if got := scopeLabel(series); got != tt.label {
			t.Errorf("%s: label %q; want %q", tt.name, got, tt.label)
		}
		for i, s := range series {
			if s.Scope != tt.legend[i] {
				t.Errorf("%s: line %d keeps scope %q for the legend; want %q", tt.name, i, s.Scope, tt.legend[i])
			}
		}
	}
}
