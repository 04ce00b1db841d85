package epoll

import (
	"fmt"

	"github.com/muxbench/muxbench/backends"
)

// The pitfalls: the one server loop over epoll with one policy made
// deliberately wrong (backends.Pitfall), for `muxbench pitfalls` only.
func init() {
	for _, p := range []struct {
		name, desc string
		mode       Mode
		pitfall    backends.Pitfall
	}{
		{"pitfall-et-accept-once", "WRONG: epoll ET listener accepts once per event; connections left queued raise no new edge",
			EdgeTriggered, backends.PitfallETAcceptOnce},
		{"pitfall-et-short-read-ignore-hup", "WRONG: epoll ET reader stops at a short read despite a hang-up; a close sent with data is never seen (leak)",
			EdgeTriggered, backends.PitfallETShortReadIgnoreHup},
		{"pitfall-et-read-once", "WRONG: epoll ET reader reads once per event; input larger than one read stalls",
			EdgeTriggered, backends.PitfallETReadOnce},
		{"pitfall-sleep-send", fmt.Sprintf("WRONG: epoll LT send sleeps 1 ms and retries on EAGAIN (usleep(1000)), blocking the loop; gives up after %d", backends.SleepSendRetries),
			LevelTriggered, backends.PitfallSleepSend},
		{"pitfall-lt-keep-epollout", "WRONG: epoll LT keeps EPOLLOUT after pending output is flushed; every wait returns at once (spin)",
			LevelTriggered, backends.PitfallLTKeepWriteInterest},
	} {
		mode := p.mode
		backends.Register(backends.Info{
			Name:          p.name,
			Description:   p.desc,
			EdgeTriggered: mode == EdgeTriggered,
			Pitfall:       p.pitfall,
			New:           func() (backends.Poller, error) { return New(mode) },
		})
	}
}
