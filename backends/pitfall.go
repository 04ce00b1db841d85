package backends

// Pitfall names one deliberately wrong policy of the server loop: a
// mistake the classic event-loop notes warn about, kept runnable so that
// `muxbench pitfalls` can show it happen and what it costs. The zero value,
// NoPitfall, is the correct loop.
//
// A backend whose Info has a Pitfall is wrong on purpose, so it is never
// run by accident: it is not in lineup.Order, Default or Names (sweeps,
// tests and listings range over those), scenario files that name it are
// refused, `muxbench serve` refuses it without -pitfall, and the
// conformance suite leaves it out. Each pitfall changes exactly one place
// in the loop, marked where it happens.
type Pitfall uint8

const (
	// NoPitfall is the correct loop.
	NoPitfall Pitfall = iota
	// PitfallETAcceptOnce: an edge-triggered listener accepts one
	// connection per event. Connections left in the accept queue raise no
	// new edge, so they wait until another connection arrives — or forever.
	PitfallETAcceptOnce
	// PitfallETShortReadIgnoreHup: an edge-triggered reader stops at a
	// short read even when the event reported a hang-up. A close that
	// arrived together with data raises no other edge, so the EOF is never
	// read and the server leaks the connection.
	PitfallETShortReadIgnoreHup
	// PitfallETReadOnce: an edge-triggered reader reads once per event,
	// neither draining nor applying the short-read rule. Input larger than
	// one read stays queued with no new edge: the connection stalls.
	PitfallETReadOnce
	// PitfallSleepSend: on a write that returns EAGAIN the loop sleeps
	// 1 ms and writes again (the notes' socket_send with usleep(1000))
	// instead of keeping the rest pending, blocking every other connection
	// meanwhile. Bounded: after SleepSendRetries sleeps it gives up and
	// closes the connection (counted in Errors.Other).
	PitfallSleepSend
	// PitfallLTKeepWriteInterest: a level-triggered loop that leaves write
	// interest (EPOLLOUT) registered after the pending output is flushed.
	// An idle connection's socket is always writable, so every wait returns
	// at once: the loop spins.
	PitfallLTKeepWriteInterest
)

// SleepSendRetries bounds PitfallSleepSend: the sleeps of 1 ms one write
// may make before the loop gives up on the connection. The notes' loop
// retries forever; this one blocks every other connection for at least
// SleepSendRetries ms per stuck write, then closes the stuck one.
const SleepSendRetries = 1000
