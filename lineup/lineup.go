// Package lineup is the list of backends muxbench compares, in canonical
// order, and what each one is: either the one event loop (package server)
// over a poller registered in package backends, or a whole server of its
// own (gonet: Go's runtime netpoller, package server/gonet).
//
// It is where a backend is registered: every built-in poller (each poller
// package describes its own and exports their names; lineup registers
// them with package backends) and every whole server (one entry here).
// It links every poller but no server, so packages that only need the
// names and their kinds (scenarios, harness) do not link the servers;
// package server/start starts one by name.
package lineup

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/backends/epoll"
	"github.com/muxbench/muxbench/backends/poll"
	fdselect "github.com/muxbench/muxbench/backends/select"
	"github.com/muxbench/muxbench/backends/uringpoll"
	"github.com/muxbench/muxbench/internal/iouring"
)

// Every built-in poller is registered here, once: each poller package
// describes its own backends (Backends) and exports their names, and
// importing it registers nothing.
func init() {
	for _, infos := range [][]backends.Info{fdselect.Backends(), poll.Backends(), epoll.Backends(), uringpoll.Backends()} {
		for _, info := range infos {
			backends.Register(info)
		}
	}
}

// GoNet is the name of the goroutine-per-connection server over Go's
// runtime netpoller (package server/gonet), the baseline.
const GoNet = "gonet"

// Uring is the name of the io_uring completion-model server (package
// server/uring).
const Uring = "uring"

// servers are the backends that are whole servers of their own rather
// than pollers: everything lineup knows of each, in one entry. Their
// constructors are package server/start's, which links them; lineup must
// not (harness and scenarios import it).
var servers = []Backend{{
	Name: Uring,
	Description: "io_uring completion model: multishot accept, multishot recv into a provided buffer ring, one send in flight per connection " +
		"(waits = enters, events = CQEs)",
	Check:      iouring.CheckServer,
	loopServer: true,
}, {
	Name:        GoNet,
	Description: "Go's runtime netpoller: net.Listen, one goroutine per connection (the baseline)",
}}

// Default is the backends a sweep runs unless told otherwise, in the
// canonical order: from the oldest mechanism to the Go baseline.
var Default = []string{fdselect.Name, poll.Name, epoll.NameLT, epoll.NameET, uringpoll.Name, Uring, GoNet}

// Order is every built-in backend in canonical order: Default, then the
// variants (backends.Info.Variant). Listings, scenarios and charts use it;
// a test checks it against the pollers registered and the servers here.
var Order = append(slices.Clone(Default), epoll.NameETDrain, poll.NameAccept1,
	epoll.NameMod, epoll.NameOneshot, epoll.NameBusy, fdselect.NameBig,
	epoll.NameReuseport, epoll.NameSharedListener, epoll.NameExclusive, epoll.NameSharedEpoll,
	poll.NameShared, fdselect.NameShared, epoll.NameLTShared, epoll.NameETShared)

// Pitfalls is every deliberately wrong loop (backends.Info.Pitfall), in
// the order `muxbench pitfalls` runs them. They are in neither Order nor
// Names, which sweeps, tests and listings range over, so none runs by
// accident; Lookup still finds them.
var Pitfalls = []string{
	epoll.NamePitfallETAcceptOnce,
	epoll.NamePitfallETShortReadIgnoreHup,
	epoll.NamePitfallETReadOnce,
	epoll.NamePitfallSleepSend,
	epoll.NamePitfallLTKeepWriteInterest,
}

// Backend describes one backend, whichever kind.
type Backend struct {
	// Name is the backend's name everywhere: CLI, results, charts.
	Name string
	// Description is one line for `muxbench list`.
	Description string
	// Variant marks a backend listed apart and left out of default sweeps.
	Variant bool
	// MaxFD is the largest fd number the backend can watch plus one
	// (select: FD_SETSIZE); 0 means no limit of its own.
	MaxFD int
	// Pitfall marks a deliberately wrong loop, run by `muxbench pitfalls`
	// only (backends.Info.Pitfall says which mistake).
	Pitfall bool
	// Sharing is how several loops of the backend's server share the
	// listener and the ready list; backends.NoSharing (every whole server,
	// and every poller but the sharing variants) runs one loop only.
	Sharing backends.Sharing
	// Check, when set, reports whether the backend can run here; its
	// error ("unsupported: <reason and fix>") is what the harness records
	// for the backend's points and what serve exits with. nil: always.
	Check func() error
	// Poller is what the event loop runs over; nil for a whole server.
	Poller *backends.Info
	// loopServer: a whole server that runs one locked-thread loop.
	loopServer bool
}

// EventLoop reports whether the backend is the event loop of package
// server over a poller, as opposed to a whole server of its own. An
// event-loop server runs on one locked thread whose CPU is the measured
// cost, allocates nothing per request and watches a known set of fds; a
// whole server is measured as its process.
func (b Backend) EventLoop() bool { return b.Poller != nil }

// LoopThread reports whether the backend's server is one loop on one
// locked OS thread that waits with raw system calls and allocates nothing
// per request: the event loop, or a whole server built the same way
// (uring). `muxbench serve` runs those alike (collector and preemption
// signal off, two Ps) and their cost is the loop thread's CPU.
func (b Backend) LoopThread() bool { return b.Poller != nil || b.loopServer }

// Lookup returns the backend called name, or an error listing the names
// that are known.
func Lookup(name string) (Backend, error) {
	for _, b := range servers {
		if b.Name == name {
			return b, nil
		}
	}
	if !slices.Contains(backends.Names(), name) {
		return Backend{}, fmt.Errorf("unknown backend %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	info, err := backends.Lookup(name)
	if err != nil {
		return Backend{}, err
	}
	return Backend{Name: name, Description: info.Description, Variant: info.Variant, MaxFD: info.MaxFD,
		Pitfall: info.Pitfall != backends.NoPitfall, Sharing: info.Sharing, Check: info.Check, Poller: &info}, nil
}

// Sharing returns the backends that can run several loops (a sharing
// mode other than backends.NoSharing), in Order: what a scenario with
// loops > 1 may name.
func Sharing() []string {
	var out []string
	for _, n := range Order {
		if b, err := Lookup(n); err == nil && b.Sharing != backends.NoSharing {
			out = append(out, n)
		}
	}
	return out
}

// Unsupported is why the named backend cannot run on this kernel or in
// this process at all (io_uring disabled, blocked, too old), prefixed with
// its name; "" when it can, has no check, or is unknown. Its points are
// then recorded unsupported without starting a server.
func Unsupported(name string) string {
	b, err := Lookup(name)
	if err != nil || b.Check == nil {
		return ""
	}
	if err := b.Check(); err != nil {
		return fmt.Sprintf("%s: %v", name, err)
	}
	return ""
}

// Names returns every backend's name but the pitfalls: the built-ins in
// Order, then any other registered poller that is not a pitfall, sorted.
func Names() []string {
	known := backends.Names()
	for _, b := range servers {
		known = append(known, b.Name)
	}
	var names []string
	for _, n := range Order {
		if slices.Contains(known, n) {
			names = append(names, n)
		}
	}
	var extra []string
	for _, n := range known {
		if !slices.Contains(Order, n) && !isPitfall(n) {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	return append(names, extra...)
}

// isPitfall reports whether name is a registered pitfall, listed in
// Pitfalls or not.
func isPitfall(name string) bool {
	info, err := backends.Lookup(name)
	return slices.Contains(Pitfalls, name) || err == nil && info.Pitfall != backends.NoPitfall
}
