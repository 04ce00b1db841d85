// Package rawwait makes the multiplexers' blocking wait calls — epoll_pwait,
// ppoll, pselect6 — as raw system calls, without the Go scheduler's
// entersyscall/exitsyscall bookkeeping.
//
// Why: since Go 1.26 a goroutine entering a system call gives up its P. When
// the server's one event loop blocks in its wait, every P is then idle, the
// runtime's sysmon thread goes to deep sleep, and the loop's next system
// call (the read of the request it was woken for) wakes sysmon again. That
// is two extra context switches and, on a 2-CPU VM, ~30 µs of CPU per
// request on the server's CPU: the instrument measuring itself. A raw call
// keeps the P, so sysmon stays in its ordinary backoff sleep.
//
// The cost of holding the P: the process must have GOMAXPROCS >= 2 so other
// goroutines (the stats control reader) run on another P (see
// cpuset.PinProcess), and a blocked wait is interrupted by the runtime's
// preemption signal about every 10 ms of idleness (EINTR, reported as zero
// events) so the garbage collector can stop the world. Reads and writes on
// non-blocking sockets use the ordinary wrappers: they never block.
//
// Only the p-variants exist on every Linux architecture (arm64 has no
// epoll_wait, poll or select), so those are what is called.
package rawwait

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// EpollWait is epoll_wait(2) through epoll_pwait with no signal mask.
func EpollWait(epfd int, events []unix.EpollEvent, msec int) (int, error) {
	var p unsafe.Pointer
	if len(events) > 0 {
		p = unsafe.Pointer(&events[0])
	}
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(p), uintptr(len(events)), uintptr(msec), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// Poll is poll(2) through ppoll with no signal mask.
func Poll(fds []unix.PollFd, msec int) (int, error) {
	var p unsafe.Pointer
	if len(fds) > 0 {
		p = unsafe.Pointer(&fds[0])
	}
	var ts unix.Timespec
	tsp := timeout(&ts, msec)
	n, _, errno := unix.RawSyscall6(unix.SYS_PPOLL, uintptr(p), uintptr(len(fds)), uintptr(tsp), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// Select is select(2) through pselect6 with no signal mask and no
// exception set.
func Select(nfd int, r, w *unix.FdSet, msec int) (int, error) {
	var ts unix.Timespec
	tsp := timeout(&ts, msec)
	n, _, errno := unix.RawSyscall6(unix.SYS_PSELECT6, uintptr(nfd), uintptr(unsafe.Pointer(r)), uintptr(unsafe.Pointer(w)), 0, uintptr(tsp), 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// timeout fills ts for msec milliseconds and returns its address, or nil
// (wait forever) for a negative msec.
func timeout(ts *unix.Timespec, msec int) unsafe.Pointer {
	if msec < 0 {
		return nil
	}
	*ts = unix.NsecToTimespec(int64(msec) * 1e6)
	return unsafe.Pointer(ts)
}

// SelectBitmap is select(2) through pselect6 over bitmaps of any size,
// not the fixed FD_SETSIZE bits of a unix.FdSet: the kernel reads and
// writes nfd bits, rounded up to whole words, of each. It refuses (EINVAL)
// an nfd the bitmaps do not cover, so a bad call cannot write past them.
func SelectBitmap(nfd int, r, w []uint64, msec int) (int, error) {
	words := (nfd + 63) / 64
	if nfd < 0 || len(r) < words || len(w) < words {
		return 0, unix.EINVAL
	}
	var rp, wp unsafe.Pointer
	if words > 0 {
		rp, wp = unsafe.Pointer(&r[0]), unsafe.Pointer(&w[0])
	}
	var ts unix.Timespec
	tsp := timeout(&ts, msec)
	n, _, errno := unix.RawSyscall6(unix.SYS_PSELECT6, uintptr(nfd), uintptr(rp), uintptr(wp), 0, uintptr(tsp), 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
