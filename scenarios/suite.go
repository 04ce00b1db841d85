package scenarios

import (
	"fmt"
	"slices"
	"strings"

	"github.com/muxbench/muxbench/results"
)

// A Suite is several built-in scenarios run one after another into one
// results directory, with the multiplexer-alone measurement (waitcost)
// and the pitfall runs, so that one report can hold every claim's
// evidence. `muxbench run claims` runs one like a scenario.
type Suite struct {
	Name        string
	Description string
	// Scenarios are built-in scenario names, run in this order; each
	// also runs alone (`muxbench run claim-mod-cost`).
	Scenarios []string
	// WaitCost is how the multiplexer alone is measured: "full",
	// "quick", or "" for not at all.
	WaitCost string
	// Pitfalls runs `muxbench pitfalls` as part of the suite.
	Pitfalls bool
}

var suites = []Suite{
	{
		Name:        "claims",
		Description: "claims 1 to 12 of the claims table measured: limits, mod-cost, active ratio, back-pressure, busy wait, churn, waitcost, pitfalls; and the rate sweep, the per-fd cost against the request rate (about 22 minutes)",
		Scenarios:   []string{"claim-limits", "claim-mod-cost", "claim-active-ratio", "claim-backpressure", "claim-busy", "claim-churn", "rate-sweep"},
		WaitCost:    "full",
		Pitfalls:    true,
	},
	{
		Name:        "claims-quick",
		Description: "the claims table and the rate sweep in about 3 minutes: the same measurements, fewer points and repetitions (wider intervals)",
		Scenarios:   []string{"claim-limits-quick", "claim-mod-cost-quick", "claim-active-ratio-quick", "claim-backpressure-quick", "claim-busy-quick", "claim-churn-quick", "rate-sweep-quick"},
		WaitCost:    "quick",
		Pitfalls:    true,
	},
}

// Suites lists the built-in suites.
func Suites() []Info {
	var out []Info
	for _, s := range suites {
		out = append(out, Info{Name: s.Name, Description: s.Description})
	}
	return out
}

// LoadSuite returns the suite called name with its scenarios loaded; ok
// is false when no suite has that name (it may be a scenario).
func LoadSuite(name string) (s Suite, scs []results.Scenario, ok bool, err error) {
	i := slices.IndexFunc(suites, func(s Suite) bool { return s.Name == name })
	if i < 0 {
		return Suite{}, nil, false, nil
	}
	s = suites[i]
	var errs []string
	for _, n := range s.Scenarios {
		sc, err := loadBuiltin(n)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		scs = append(scs, sc)
	}
	if len(errs) > 0 {
		return s, nil, true, fmt.Errorf("suite %s: %s", name, strings.Join(errs, "; "))
	}
	return s, scs, true, nil
}
