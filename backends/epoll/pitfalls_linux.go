package epoll

import (
	"fmt"

	"github.com/muxbench/muxbench/backends"
)

// Names of the pitfalls: the one server loop over epoll with one policy
// made deliberately wrong (backends.Pitfall), for `muxbench pitfalls` only.
// Each is named for the backends.Pitfall it runs.
const (
	NamePitfallETAcceptOnce         = "pitfall-et-accept-once"
	NamePitfallETShortReadIgnoreHup = "pitfall-et-short-read-ignore-hup"
	NamePitfallETReadOnce           = "pitfall-et-read-once"
	NamePitfallSleepSend            = "pitfall-sleep-send"
	NamePitfallLTKeepWriteInterest  = "pitfall-lt-keep-epollout"
)

// pitfalls describes the pitfall backends.
func pitfalls() []backends.Info {
	var infos []backends.Info
	for _, p := range []struct {
		name, desc string
		mode       Mode
		pitfall    backends.Pitfall
	}{
		{NamePitfallETAcceptOnce, "WRONG: epoll ET listener accepts once per event; connections left queued raise no new edge",
			EdgeTriggered, backends.PitfallETAcceptOnce},
		{NamePitfallETShortReadIgnoreHup, "WRONG: epoll ET reader stops at a short read despite a hang-up; a close sent with data is never seen (leak)",
			EdgeTriggered, backends.PitfallETShortReadIgnoreHup},
		{NamePitfallETReadOnce, "WRONG: epoll ET reader reads once per event; input larger than one read stalls",
			EdgeTriggered, backends.PitfallETReadOnce},
		{NamePitfallSleepSend, fmt.Sprintf("WRONG: epoll LT send sleeps 1 ms and retries on EAGAIN (usleep(1000)), blocking the loop; gives up after %d", backends.SleepSendRetries),
			LevelTriggered, backends.PitfallSleepSend},
		{NamePitfallLTKeepWriteInterest, "WRONG: epoll LT keeps EPOLLOUT after pending output is flushed; every wait returns at once (spin)",
			LevelTriggered, backends.PitfallLTKeepWriteInterest},
	} {
		mode := p.mode
		infos = append(infos, backends.Info{
			Name:          p.name,
			Description:   p.desc,
			EdgeTriggered: mode == EdgeTriggered,
			Pitfall:       p.pitfall,
			New:           func() (backends.Poller, error) { return New(mode) },
		})
	}
	return infos
}
