package loadgen

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The syscalls of the traffic loop, wrapped so that its hot path neither
// allocates nor goes through the scheduler.

// soError returns the pending error of a socket (the result of a
// non-blocking connect), nil if none.
func soError(fd int) error {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return fmt.Errorf("getsockopt SO_ERROR: %w", err)
	}
	if v != 0 {
		return unix.Errno(v)
	}
	return nil
}

// epollWait waits up to timeoutNs nanoseconds (< 0: forever) for events.
// It uses epoll_pwait2 (Linux 5.11+) for a nanosecond timeout — open-loop
// pacing needs better than epoll_wait's milliseconds — and falls back to
// epoll_wait rounding up. EINTR is reported as zero events. ts is
// caller-owned so the call does not allocate.
//
// raw makes it a raw syscall the Go scheduler does not see: no P hand-off,
// no sysmon retake, no futex wake-ups of other threads around every wait,
// which on a loaded or virtualised CPU cost more than the wait itself. The
// goroutine keeps its P while blocked, so raw waits must be short (the
// traffic loop caps them) and are only for a goroutine on its own locked
// thread.
func epollWait(ep int, events []unix.EpollEvent, timeoutNs int64, ts *unix.Timespec, raw bool) (int, error) {
	if !noPwait2.Load() {
		var tsp unsafe.Pointer
		if timeoutNs >= 0 {
			*ts = unix.NsecToTimespec(timeoutNs)
			tsp = unsafe.Pointer(ts)
		}
		var r uintptr
		var e unix.Errno
		if raw {
			r, _, e = unix.RawSyscall6(unix.SYS_EPOLL_PWAIT2, uintptr(ep), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(tsp), 0, 0)
		} else {
			r, _, e = unix.Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(ep), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(tsp), 0, 0)
		}
		switch e {
		case 0:
			return int(r), nil
		case unix.EINTR:
			return 0, nil
		case unix.ENOSYS:
			noPwait2.Store(true)
		default:
			return 0, fmt.Errorf("epoll_pwait2: %w", e)
		}
	}
	ms := -1
	if timeoutNs >= 0 {
		ms = int((timeoutNs + 999_999) / 1_000_000)
	}
	n, err := unix.EpollWait(ep, events, ms)
	if err == unix.EINTR {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("epoll_wait: %w", err)
	}
	return n, nil
}

// rawRead and rawWrite are recv(2) and send(2) on non-blocking sockets
// as raw syscalls: they never block, so telling the scheduler
// (entersyscall/exitsyscall) would only add cost. recv/send rather than
// read/write skip the VFS layer (file position lock, fsnotify hooks), and
// MSG_NOSIGNAL turns a write to a reset connection into EPIPE instead of
// a SIGPIPE.
func rawRead(fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

func rawWrite(fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), unix.MSG_NOSIGNAL, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// noPwait2 is set when the kernel lacks epoll_pwait2.
var noPwait2 atomic.Bool
