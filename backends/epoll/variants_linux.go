package epoll

import "github.com/muxbench/muxbench/backends"

// variants are the claims' variants: the one server loop over epoll with
// one policy changed (backends.Info), each measuring one claim of the
// classic notes.
func variants() []backends.Info {
	return []backends.Info{{
		Name:          NameMod,
		Description:   "variant of epoll-lt: the notes' loop, MOD to OUT after each read and back to IN after the write (two epoll_ctl per request)",
		ModPerRequest: true,
		Variant:       true,
		New:           func() (backends.Poller, error) { return New(LevelTriggered) },
	}, {
		Name:        NameOneshot,
		Description: "variant of epoll-lt: EPOLLONESHOT, every fd re-armed with MOD after each event (one epoll_ctl per event)",
		Oneshot:     true,
		Variant:     true,
		New:         func() (backends.Poller, error) { return New(Oneshot) },
	}, {
		Name:        NameBusy,
		Description: "variant of epoll-lt: epoll_wait with timeout 0 in a spin (burns its CPU; empty polls count as waits)",
		BusyPoll:    true,
		Variant:     true,
		New:         func() (backends.Poller, error) { return New(LevelTriggered) },
	}}
}
