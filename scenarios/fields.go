package scenarios

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/internal/cpuset"
	"github.com/muxbench/muxbench/internal/traffic"
	"github.com/muxbench/muxbench/lineup"
	"github.com/muxbench/muxbench/loadgen"
	"github.com/muxbench/muxbench/results"
)

// This file holds the per-field conversions and checks: each turns one
// YAML node into a results.Scenario value or records a FILE:LINE error
// naming the field in the file's own words. parse.go decodes the file.

// scenario converts and validates every field, filling in defaults.
func (d *decoder) scenario(f *fields) results.Scenario {
	description, ok := d.text("description", f.Description, "")
	switch {
	case !ok:
	case strings.ContainsAny(description, "\r\n"):
		d.errorf(f.Description, "description: more than one line (say what the scenario is for in one line of at most %d characters)", maxDescriptionLen)
	case utf8.RuneCountInString(description) > maxDescriptionLen:
		d.errorf(f.Description, "description: %d characters is too long for the one line reports show (use at most %d)", utf8.RuneCountInString(description), maxDescriptionLen)
	}
	s := results.Scenario{
		Name:        d.name(f.Name),
		Description: description,
		Backends:    d.backends(f.Backends),
		Mode:        oneOf(d, "mode", f.Mode, traffic.Modes),
		Proto:       oneOf(d, "proto", f.Proto, traffic.Protos),
		Repetitions: d.repetitions(f.Repetitions),
	}
	s.FDs, s.Active = d.sweep(f.FDs, f.Active)
	s.Rate = d.rate(f.Rate, s.Mode)
	s.Size = d.size(f.Size, s.Proto)
	s.Path, s.Line, s.Expect = d.request(f, s.Proto)

	keepAlive, ok := d.duration("keepalive", f.KeepAlive, 0)
	if ok && (keepAlive < 0 || (keepAlive > 0 && keepAlive < loadgen.MinKeepAlive)) {
		d.errorf(f.KeepAlive, "keepalive: %v is not a trickle (use 0 for silent idle connections, or %v or more)", keepAlive, loadgen.MinKeepAlive)
	}
	warmup, ok := d.duration("warmup", f.Warmup, defaultWarmup)
	switch {
	case !ok:
	case warmup < 0:
		d.errorf(f.Warmup, "warmup: %v is negative (use 0 for no warm-up, or a duration like 1s)", warmup)
	case warmup > maxWarmup:
		d.errorf(f.Warmup, "warmup: %v before every sample is too long (use at most %v; a few seconds warms the caches)", warmup, maxWarmup)
	}
	window, ok := d.duration("duration", f.Duration, defaultDuration)
	switch {
	case !ok:
	case window < minDuration:
		d.errorf(f.Duration, "duration: %v is too short to measure (use %v or more, e.g. 3s)", window, minDuration)
	case window > maxDuration:
		d.errorf(f.Duration, "duration: %v per sample is too long (use at most %v, and more repetitions for more data)", window, maxDuration)
	}
	s.KeepAlive, s.Warmup, s.Duration = results.Duration(keepAlive), results.Duration(warmup), results.Duration(window)

	s.ServerCPUs, s.ClientCPUs = d.cpus(f.ServerCPUs, f.ClientCPUs)
	s.ServerSendBuffer = d.sendBuffer(f.SendBuffer)
	s.Churn = d.churn(f.Churn)
	s.Loops = d.loops(f.Loops, f.Backends, s.Backends)
	d.rateAxisFits(f, s)
	return s
}

// churn converts the churn axis: true, false, or a list of both; one
// false (the default) is the empty axis, as results.Churn writes it.
func (d *decoder) churn(n ast.Node) results.Churn {
	if n == nil {
		return nil
	}
	if _, list := unwrap(n).(*ast.SequenceNode); !list {
		if d.boolean("churn", n) {
			return results.Churn{true}
		}
		return nil
	}
	nodes, ok := d.list("churn", n, false)
	if !ok {
		return nil
	}
	var out results.Churn
	for i, e := range nodes {
		v := d.boolean("churn", e)
		if i > 0 && v == out[len(out)-1] {
			d.errorf(e, "churn: %v is listed twice (use true, false, or [false, true] for both loads)", v)
		}
		out = append(out, v)
	}
	if len(out) == 1 && !out[0] {
		return nil
	}
	return out
}

// loops converts the loops axis and checks that every backend can run
// that many loops: above one, only a backend with a sharing mode can.
func (d *decoder) loops(n, backendsNode ast.Node, names []string) []int {
	if n == nil {
		return nil
	}
	loops, nodes := d.intList("loops", n, true)
	most := 0
	for i, v := range loops {
		switch {
		case v < 1 || v > backends.MaxLoops:
			d.errorf(nodes[i], "loops: %d is out of range (use 1 to %d)", v, backends.MaxLoops)
		case i > 0 && v == loops[i-1]:
			d.errorf(nodes[i], "loops: %d is listed twice (list each loop count once, from smallest to largest)", v)
		case i > 0 && v < loops[i-1]:
			d.errorf(nodes[i], "loops: %d after %d is not ascending (list the loop counts from smallest to largest, each once)", v, loops[i-1])
		}
		most = max(most, v)
	}
	if most > 1 {
		var single []string
		for _, b := range names {
			if !slices.Contains(lineup.Sharing(), b) {
				single = append(single, b)
			}
		}
		if len(single) > 0 {
			node := backendsNode
			if node == nil {
				node = n
			}
			d.errorf(node, "backends: %s cannot run several loops (no sharing mode), and loops goes to %d (use backends with one: %s; or loops: 1)", strings.Join(single, ", "), most, strings.Join(lineup.Sharing(), ", "))
		}
	}
	if len(loops) == 1 && loops[0] == 1 {
		return nil // one loop, the default: as results.Scenario writes it
	}
	return loops
}

func (d *decoder) name(n ast.Node) string {
	if n == nil {
		base := filepath.Base(d.file)
		name := strings.TrimSuffix(base, filepath.Ext(base))
		if !validName.MatchString(name) || len(name) > maxNameLen {
			d.errorf(nil, "the file name %q does not make a valid scenario name (add a name field: letters, digits, '.', '_' and '-')", base)
		}
		return name
	}
	name, ok := d.text("name", n, "")
	if ok && (!validName.MatchString(name) || len(name) > maxNameLen) {
		d.errorf(n, "name: %q is not a valid name (use up to %d letters, digits, '.', '_' and '-', starting with a letter or digit)", name, maxNameLen)
	}
	return name
}

func (d *decoder) backends(n ast.Node) []string {
	if n == nil {
		return KnownBackends()
	}
	names, nodes := d.textList("backends", n)
	seen := map[string]bool{}
	for i, name := range names {
		switch {
		case slices.Contains(lineup.Pitfalls, name):
			d.errorf(nodes[i], "backends: %q is a pitfall, run by `muxbench pitfalls` only (a deliberately wrong loop; remove it from this list)", name)
		case !slices.Contains(knownBackends, name):
			hint := "choose from " + strings.Join(knownBackends, ", ")
			if near := closest(name, knownBackends); near != "" {
				hint = fmt.Sprintf("did you mean %q? %s", near, hint)
			}
			d.errorf(nodes[i], "backends: unknown backend %q (%s)", name, hint)
		case seen[name]:
			d.errorf(nodes[i], "backends: %q is listed twice (list each backend once)", name)
		}
		seen[name] = true
	}
	return names
}

// sweep converts fds and active and checks that they fit together.
func (d *decoder) sweep(fdsNode, activeNode ast.Node) (fds, active []int) {
	if fdsNode == nil {
		d.errorf(nil, "fds: missing (add the fd counts to sweep, e.g. fds: [10, 100, 1000])")
		return nil, nil
	}
	fds, fdNodes := d.intList("fds", fdsNode, false)
	for i, n := range fds {
		switch {
		case n < results.ServerOwnFDs+1 || n > maxFDs:
			d.errorf(fdNodes[i], "fds: %d is out of range (each count includes the server's own %d fds, listener and wake-up eventfd, and at least one active connection: use %d to %d)", n, results.ServerOwnFDs, results.ServerOwnFDs+1, maxFDs)
		case i > 0 && n == fds[i-1]:
			d.errorf(fdNodes[i], "fds: %d is listed twice (list each fd count once, from smallest to largest)", n)
		case i > 0 && n < fds[i-1]:
			d.errorf(fdNodes[i], "fds: %d after %d is not ascending (list the fd counts from smallest to largest, each once)", n, fds[i-1])
		}
	}

	active, activeNodes := []int{1}, []ast.Node{nil}
	if activeNode != nil {
		active, activeNodes = d.intList("active", activeNode, true)
	}
	for i, n := range active {
		switch {
		case n < 1:
			d.errorf(activeNodes[i], "active: %d is not a connection count (use 1 or more)", n)
		case i > 0 && n == active[i-1]:
			d.errorf(activeNodes[i], "active: %d is listed twice (list each active count once, from smallest to largest)", n)
		case i > 0 && n < active[i-1]:
			d.errorf(activeNodes[i], "active: %d after %d is not ascending (list the active counts from smallest to largest, each once)", n, active[i-1])
		}
	}

	if len(fds) == 0 || len(active) == 0 {
		return fds, active
	}
	// Every fd count must hold the smallest active count, and every active
	// count must fit the largest fd count; combinations in between that do
	// not fit are the run's to record as unsupported.
	least, most := slices.Min(active), slices.Max(fds)
	for i, n := range fds {
		if n > results.ServerOwnFDs && n < least+results.ServerOwnFDs {
			d.errorf(fdNodes[i], "fds: %d is too small for %d active connection(s) (each fd count includes the active connections and the server's own %d fds, listener and wake-up eventfd: use at least %d)", n, least, results.ServerOwnFDs, least+results.ServerOwnFDs)
		}
	}
	for i, n := range active {
		if n >= 1 && n+1 > most {
			node := activeNodes[i]
			if node == nil {
				node = fdsNode
			}
			d.errorf(node, "active: %d connections do not fit the largest fd count %d (raise fds to at least %d, or lower active)", n, most, n+1)
		}
	}
	return fds, active
}

func (d *decoder) repetitions(n ast.Node) int {
	if n == nil {
		return defaultRepetitions
	}
	reps, ok := d.integer("repetitions", n)
	if ok && (reps < 1 || reps > maxRepetitions) {
		d.errorf(n, "repetitions: %d is out of range (use 1 to %d; 3 or more gives a median with spread)", reps, maxRepetitions)
	}
	return reps
}

// maxSendBuffer bounds server_sndbuf: the kernel caps SO_SNDBUF at
// net.core.wmem_max anyway; more than this is a typo.
const maxSendBuffer = 64 << 20

func (d *decoder) sendBuffer(n ast.Node) int {
	if n == nil {
		return 0
	}
	b, ok := d.integer("server_sndbuf", n)
	if ok && (b < 0 || b > maxSendBuffer) {
		d.errorf(n, "server_sndbuf: %d bytes is out of range (use 0 for the kernel's autotuning, or up to %d; small values like 4096 force the back-pressure path)", b, maxSendBuffer)
	}
	return b
}

func (d *decoder) cpus(serverNode, clientNode ast.Node) (server, client string) {
	server, serverOK := d.text("server_cpus", serverNode, defaultServerCPUs)
	client, clientOK := d.text("client_cpus", clientNode, defaultClientCPUs)
	server, client = strings.TrimSpace(server), strings.TrimSpace(client)
	serverSet, err := cpuset.Parse(server)
	if serverOK && err != nil {
		d.errorf(serverNode, "server_cpus: %v", err)
		serverOK = false
	}
	clientSet, err := cpuset.Parse(client)
	if clientOK && err != nil {
		d.errorf(clientNode, "client_cpus: %v", err)
		clientOK = false
	}
	if serverOK && clientOK {
		clientCPUs := clientSet.CPUs()
		for _, c := range serverSet.CPUs() {
			if slices.Contains(clientCPUs, c) {
				node := clientNode
				if node == nil {
					node = serverNode
				}
				d.errorf(node, "client_cpus: CPU %d is also in server_cpus (the load generator would steal the server's CPU: use disjoint sets, like server_cpus: \"0\" and client_cpus: \"1\")", c)
				break
			}
		}
	}
	return server, client
}

// loadgenRejects returns why the load generator's own validation refuses a
// value, or "" if it accepts it. The value is set by set on a Config that
// is otherwise valid, so any complaint is about it, and the scenario is held
// to exactly the limits the run would hit (loadgen.Config.Validate is their
// one source). field is the Config field set, whose name Validate's message
// starts with; the rest of the message is returned.
func loadgenRejects(field string, set func(*loadgen.Config)) string {
	c := loadgen.Config{Target: "127.0.0.1:1", Conns: 1, Active: 1, Rate: 1, Duration: time.Second}
	set(&c)
	err := c.Validate()
	if err == nil {
		return ""
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	msg = strings.TrimPrefix(msg, field+" ")
	if _, why, ok := strings.Cut(msg, ": "); ok {
		return why
	}
	return msg
}

// oneOf converts a text field that must be one of choices; the first
// choice is the default.
func oneOf[T ~string](d *decoder, key string, n ast.Node, choices []T) T {
	v, ok := d.text(key, n, string(choices[0]))
	if ok && !slices.Contains(choices, T(v)) {
		names := make([]string, len(choices))
		for i, c := range choices {
			names[i] = string(c)
		}
		list := names[len(names)-1]
		if len(names) > 1 {
			list = strings.Join(names[:len(names)-1], ", ") + " or " + list
		}
		d.errorf(n, "%s: %q is not valid (use %s; the default is %s)", key, v, list, choices[0])
	}
	return T(v)
}
