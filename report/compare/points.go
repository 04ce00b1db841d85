package compare

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/muxbench/muxbench/internal/human"
	"github.com/muxbench/muxbench/results"
)

// This file holds the per-point helpers of Runs: indexing points and
// samples, ordering them, describing statuses, the verdict rule, the
// geometric mean and what differs between the runs.

func runInfo(name string, r *results.Run) RunInfo {
	return RunInfo{
		Name:        name,
		Scenario:    r.Scenario.Name,
		Host:        r.Env.Hostname,
		Commit:      r.Env.ShortCommit(),
		Started:     r.Started,
		Repetitions: r.Scenario.Repetitions,
		Incomplete:  r.Incomplete,
	}
}

func indexPoints(pts []results.Point, sweep bool) map[pointKey]results.Point {
	m := make(map[pointKey]results.Point, len(pts))
	for _, p := range pts {
		m[keyOf(p.Backend, p.Active, p.FDs, p.Loops, p.Churn, p.RateRequested, sweep)] = p
	}
	return m
}

// indexSamples groups the ok samples by point: the repetitions the
// significance test compares. Runs only tests points whose every sample
// is ok, so this is all of their samples.
func indexSamples(ss []results.Sample, sweep bool) map[pointKey][]results.Sample {
	m := map[pointKey][]results.Sample{}
	for _, s := range ss {
		if s.Status != results.StatusOK {
			continue
		}
		k := keyOf(s.Backend, s.Active, s.FDs, s.Loops, s.Churn, s.RateRequested, sweep)
		m[k] = append(m[k], s)
	}
	return m
}

// keyOf is the point's key; the rate is part of it only where a run
// sweeps the rate (sweep): runs of one rate each compare across rates.
func keyOf(backend string, active, fds, loops int, churn bool, rate float64, sweep bool) pointKey {
	if !sweep {
		rate = 0
	}
	if loops <= 1 {
		loops = 0 // one loop, recorded as 0 or 1
	}
	return pointKey{backend: backend, active: active, fds: fds, loops: loops, churn: churn, rate: rate}
}

// unionKeys returns every point of either run, ordered by backend (OLD's
// scenario order, then NEW's, then any others by name), loops, churn,
// rate, active and fds.
func unionKeys(oldRun, newRun *results.Run, a, b map[pointKey]results.Point) []pointKey {
	rank := map[string]int{}
	for _, r := range []*results.Run{oldRun, newRun} {
		for _, be := range r.Scenario.Backends {
			if _, ok := rank[be]; !ok {
				rank[be] = len(rank)
			}
		}
	}
	set := map[pointKey]bool{}
	for k := range a {
		set[k] = true
	}
	for k := range b {
		set[k] = true
	}
	keys := make([]pointKey, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		ki, kj := keys[i], keys[j]
		ri, iok := rank[ki.backend]
		rj, jok := rank[kj.backend]
		switch {
		case iok != jok:
			return iok
		case ri != rj:
			return ri < rj
		case ki.backend != kj.backend:
			return ki.backend < kj.backend
		case ki.loops != kj.loops:
			return ki.loops < kj.loops
		case ki.churn != kj.churn:
			return !ki.churn
		case ki.rate != kj.rate:
			return ki.rate < kj.rate
		case ki.active != kj.active:
			return ki.active < kj.active
		}
		return ki.fds < kj.fds
	})
	return keys
}

// statusReason is a point's status with its reason; a saturated point
// without one says what it achieved.
func statusReason(p results.Point) string {
	switch {
	case p.Reason != "":
		return p.Status + " (" + human.OneLine(p.Reason) + ")"
	case p.Status == results.StatusSaturated && p.RateRequested > 0:
		return fmt.Sprintf("%s (achieved %s of %s req/s)", p.Status, human.Thousands(p.RateAchieved.Median), human.Thousands(p.RateRequested))
	}
	return p.Status
}

func notOK(op, np results.Point) string {
	if op.Status == np.Status && op.Reason == np.Reason {
		return statusReason(op) + " in both"
	}
	return statusReason(op) + " in OLD, " + statusReason(np) + " in NEW"
}

func values(ss []results.Sample, f func(results.Sample) float64) []float64 {
	out := make([]float64, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	return out
}

// repsText says how many repetitions a comparison's points had: "3
// repetitions" when both sides had the same, "3+5 repetitions" otherwise.
func repsText(oldN, newN int) string {
	if oldN == newN {
		return human.Plural(oldN, "repetition")
	}
	return fmt.Sprintf("%d+%d repetitions", oldN, newN)
}

// verdict classifies a row: no significant change, better, worse, or
// worse beyond the gate's threshold (only when gate is set).
func verdict(d Delta, higherIsBetter, gate bool, threshold float64) string {
	if d.Significance != Significant || d.Ratio == 0 || d.Ratio == 1 {
		return ""
	}
	worse := d.Ratio > 1
	if higherIsBetter {
		worse = d.Ratio < 1
	}
	if !worse {
		return Better
	}
	if gate {
		exceeds := d.Ratio > 1+threshold
		if higherIsBetter {
			exceeds = d.Ratio < 1-threshold
		}
		if exceeds {
			return Regression
		}
	}
	return Worse
}

func geomean(rows []Delta) *Geomean {
	var so, sn float64
	n := 0
	for _, d := range rows {
		if d.Ratio == 0 {
			continue
		}
		so += math.Log(d.Old)
		sn += math.Log(d.New)
		n++
	}
	if n == 0 {
		return nil
	}
	g := &Geomean{Old: math.Exp(so / float64(n)), New: math.Exp(sn / float64(n)), N: n}
	g.Ratio = g.New / g.Old
	return g
}

// differences lists what differs between the runs' scenarios and
// environments, so a reader knows what else changed besides the code.
func differences(o, n *results.Run) []string {
	var out []string
	diff := func(what, a, b string) {
		if a != b {
			out = append(out, fmt.Sprintf("%s differs: OLD %s, NEW %s", what, orNone(a), orNone(b)))
		}
	}
	so, sn := o.Scenario, n.Scenario
	diff("scenario", so.Name, sn.Name)
	diff("mode", string(so.Mode), string(sn.Mode))
	diff("rate", so.Rate.Text(), sn.Rate.Text())
	diff("message size", fmt.Sprintf("%d B", so.Size), fmt.Sprintf("%d B", sn.Size))
	diff("protocol", string(so.Proto), string(sn.Proto))
	diff("idle keep-alive", so.KeepAlive.String(), sn.KeepAlive.String())
	diff("warm-up", so.Warmup.String(), sn.Warmup.String())
	diff("measured window", so.Duration.String(), sn.Duration.String())
	diff("repetitions", fmt.Sprint(so.Repetitions), fmt.Sprint(sn.Repetitions))
	eo, en := o.Env, n.Env
	diff("host", eo.Hostname, en.Hostname)
	diff("kernel", eo.Kernel, en.Kernel)
	diff("CPU model", eo.CPUModel, en.CPUModel)
	diff("Go version", eo.GoVersion, en.GoVersion)
	diff("server CPUs", eo.ServerCPUs, en.ServerCPUs)
	diff("load generator CPUs", eo.ClientCPUs, en.ClientCPUs)
	if o.Incomplete {
		out = append(out, "OLD is an incomplete run")
	}
	if n.Incomplete {
		out = append(out, "NEW is an incomplete run")
	}
	return out
}

func orNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return "(none)"
	}
	return s
}

func fdInts(fds []int) string {
	s := make([]string, len(fds))
	for i, f := range fds {
		s[i] = human.Thousands(float64(f))
	}
	return strings.Join(s, ", ")
}
