package backends

// Sharing says how several copies of the one event loop in one process
// (serve -loops N, a scenario's loops) share the listening socket and the
// ready list: the question real servers answer one way or another (nginx
// workers, memcached's threads, one loop per core in tokio and netty). It
// changes only how the loops' listeners and pollers are set up and how the
// listener's readiness is registered; every loop runs the same code.
//
// The zero value, NoSharing, is a backend that runs one loop only: a
// server or scenario asking such a backend for more loops is refused.
type Sharing uint8

const (
	// NoSharing: one loop, one listener, one poller.
	NoSharing Sharing = iota
	// SharingReuseport: one listener per loop, each bound to the same
	// port with SO_REUSEPORT, each in its own loop's poller: the kernel
	// hashes every new connection to one listener, so one loop is woken.
	SharingReuseport
	// SharingListener: one listener registered in every loop's poller,
	// without EPOLLEXCLUSIVE. A connection makes the listener readable,
	// which wakes every loop waiting on it: the thundering herd. All but
	// the first find nothing (their accept returns EAGAIN, or epoll_wait
	// puts them back to sleep unseen).
	SharingListener
	// SharingExclusive: SharingListener with the listener registered
	// EPOLLEXCLUSIVE in every poller, so the kernel wakes one (or a few)
	// of the waiting loops per connection. EPOLLEXCLUSIVE cannot be
	// changed with EPOLL_CTL_MOD: pausing accept removes the listener
	// and adds it again.
	SharingExclusive
	// SharingEpoll: one poller (one epoll set) for every loop; N threads
	// wait in epoll_wait on it. Every fd is registered EPOLLONESHOT
	// (Info.Oneshot) so one thread at a time handles a connection, and
	// re-arms it when done. The loops share the connection table too
	// (perf bench epoll wait's multiq off).
	SharingEpoll
)

// MaxLoops bounds the loops of one server (serve -loops, a scenario's
// loops): each loop is a thread holding a P, a poller and a 64 KiB read
// buffer; past this a value is a typo.
const MaxLoops = 256

// Sharings lists the sharing modes, NoSharing left out.
var Sharings = []Sharing{SharingReuseport, SharingListener, SharingExclusive, SharingEpoll}

// sharingNames are the modes' names in results, reports and docs.
var sharingNames = map[Sharing]string{
	NoSharing:        "",
	SharingReuseport: "reuseport",
	SharingListener:  "shared-listener",
	SharingExclusive: "exclusive",
	SharingEpoll:     "shared-epoll",
}

// String is the mode's name ("reuseport", "shared-listener",
// "exclusive", "shared-epoll"); "" for NoSharing.
func (s Sharing) String() string { return sharingNames[s] }

// Pollers is how many pollers loops loops of this mode run: one for
// SharingEpoll (every loop waits on it), one per loop otherwise. Each
// poller watches the server's own fds (a listener and the wake-up
// eventfd) besides its connections, so the server watches that many times
// results.ServerOwnFDs fds of its own.
func (s Sharing) Pollers(loops int) int {
	if s == SharingEpoll || loops < 1 {
		return 1
	}
	return loops
}

// SharesTable reports whether the loops handle each other's connections
// and so share one connection table (and one fd table: a loop thread with
// a private fd table, unshare(CLONE_FILES), cannot serve this mode).
func (s Sharing) SharesTable() bool { return s == SharingEpoll }
