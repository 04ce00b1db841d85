package waitcost

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/internal/procfs"
)

// This file is the blocking wake-up's shell: the waiter's cycles and the
// peer thread that wakes it.
//
// One cycle, i:
//
//	waiter (measuring CPU)                 peer (another CPU)
//	armed = i; read its thread CPU
//	Wait(-1): scan, register, sleep  ---   sees armed = i, then polls the
//	                                       waiter's /proc/self/task/TID
//	                                       stat (S) and syscall (a wait
//	                                       call) until it is asleep there;
//	                                       writes one byte: the fd is ready
//	woken: scan again, free entries
//	read its thread CPU; woke = i    ---   sees woke = i, reads the byte
//	spins until idle = i             ---   idle = i: the fd is idle again
//
// The figure is the waiter's thread CPU between the two readings, per
// wake-up. It is read with clock_gettime(CLOCK_THREAD_CPUTIME_ID): the
// kernel brings the running thread's sum_exec_runtime up to date before
// answering, so the reading is exact to the nanosecond and includes the
// current slice, and it is one system call the thread makes itself. The
// thread's schedstat (/proc/self/task/TID/schedstat, the same counter)
// would be stale by the running slice when read by the thread itself and
// costs an open and a read per reading; getrusage rounds to microseconds
// and is stale the same way. The readings' own cost (a raw system call,
// about a hundred ns) is in every wake-up alike: it adds to the
// intercept, not to the per-fd slope.
//
// A cycle counts only if the wait slept: the thread's voluntary context
// switches (getrusage RUSAGE_THREAD, read around the wait) rose. The peer
// writes only once it has seen the waiter asleep in a wait call, so every
// cycle should sleep; one that did not is a wait that started after a
// signal interrupted the one the peer saw (the runtime's preemption signal
// interrupts a wait about every 10 ms), and its CPU is left out.

// Deadlines of the handshake: far beyond any wait's registration pass
// (milliseconds at 20,000 fds), so only a fault reaches them.
const (
	handshakeDeadline = 5 * time.Second
	spinCheck         = 1 << 10 // spins between two looks at the clock
)

// waitSyscalls are the system calls a poller's blocking wait sleeps in:
// package rawwait's p-variants, epoll_pwait2, and io_uring_enter.
var waitSyscalls = [...]int{unix.SYS_PPOLL, unix.SYS_PSELECT6, unix.SYS_EPOLL_PWAIT, unix.SYS_EPOLL_PWAIT2, unix.SYS_IO_URING_ENTER}

func isWaitSyscall(nr int) bool {
	for _, w := range waitSyscalls {
		if nr == w {
			return true
		}
	}
	return false
}

// handshake is the state the waiter and the peer share: cycle numbers
// that only grow, each on its own cache line so that one side's stores
// do not slow the other's loads of another.
type handshake struct {
	armed atomic.Uint64 // the waiter is about to wait, or waits, in cycle armed
	_     [56]byte
	woke  atomic.Uint64 // the waiter's wait of cycle woke returned the peer's fd
	_     [56]byte
	idle  atomic.Uint64 // the peer made the fd of cycle idle idle again
	_     [56]byte
	end   atomic.Uint64 // the waiter ended the job after cycle end (noEnd while it runs)
	_     [56]byte
	fail  atomic.Pointer[error] // the peer's fault, for the waiter to see between waits
}

// noEnd is handshake.end while a job runs.
const noEnd = math.MaxUint64

func (h *handshake) failed() error {
	if p := h.fail.Load(); p != nil {
		return *p
	}
	return nil
}

func (h *handshake) setFailed(err error) { h.fail.CompareAndSwap(nil, &err) }

// peer is the thread that wakes the waiter: locked to its own OS thread,
// pinned to the peer CPU, in the shared fd table.
type peer struct {
	h      handshake
	jobs   chan target
	result chan error
	done   chan struct{} // closed when the peer thread has closed its files
	// Probing: the waiter's stat and syscall files, read with pread.
	statFD, sysFD int
	buf           [512]byte
	one           [1]byte
}

// startPeer starts the peer thread for the waiter with thread id tid,
// pinned to cpu. Stop it with stop.
func startPeer(cpu, tid int) (*peer, error) {
	pr := &peer{jobs: make(chan target), result: make(chan error), done: make(chan struct{}), statFD: -1, sysFD: -1}
	ready := make(chan error)
	go func() {
		defer close(pr.done)
		// The thread's CPU affinity is changed for good: it exits with
		// the goroutine instead of going back to the runtime.
		runtime.LockOSThread()
		var set unix.CPUSet
		set.Set(cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			ready <- fmt.Errorf("pin the peer thread to CPU %d: %w", cpu, err)
			return
		}
		dir := "/proc/self/task/" + strconv.Itoa(tid) + "/"
		var err error
		if pr.statFD, err = unix.Open(dir+"stat", unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
			pr.sysFD, err = unix.Open(dir+"syscall", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		}
		if err != nil {
			pr.closeFiles()
			ready <- fmt.Errorf("open the waiter's %sstat and syscall: %w", dir, err)
			return
		}
		defer pr.closeFiles()
		ready <- nil
		for t := range pr.jobs {
			pr.result <- pr.run(t)
		}
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return pr, nil
}

func (pr *peer) closeFiles() {
	for _, fd := range []int{pr.statFD, pr.sysFD} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// stop ends the peer thread and waits until it has closed its files.
func (pr *peer) stop() {
	close(pr.jobs)
	<-pr.done
}

// run wakes the waiter, cycle after cycle, through t until the waiter
// ends the job. Every wait it starts must be released, so on a fault it
// still writes (the waiter then returns) and reports the fault through
// the handshake as well as its result.
func (pr *peer) run(t target) error {
	h := &pr.h
	for {
		i := h.idle.Load() + 1
		start := time.Now()
		for spins := 1; h.armed.Load() != i; spins++ {
			if h.end.Load() == i-1 && h.armed.Load() != i {
				return nil
			}
			if spins%spinCheck == 0 && time.Since(start) > handshakeDeadline {
				return pr.fault(fmt.Errorf("the waiter neither started cycle %d nor ended within %v", i, handshakeDeadline))
			}
		}
		asleep, err := pr.awaitSleep(i)
		if h.end.Load() == i-1 {
			return nil // the waiter gave up on cycle i (its error stands): nothing to release
		}
		if err == nil && !asleep {
			err = fmt.Errorf("cycle %d: the waiter was not seen asleep in a wait call within %v", i, handshakeDeadline)
		}
		pr.one[0] = 'x'
		if _, werr := unix.Write(t.writer, pr.one[:]); werr != nil {
			return pr.fault(errors.Join(err, fmt.Errorf("make fd %d ready: write to %d: %w", t.index, t.writer, werr)))
		}
		if err != nil {
			return pr.fault(err)
		}
		start = time.Now()
		for spins := 1; h.woke.Load() != i; spins++ {
			if spins%spinCheck == 0 {
				if h.end.Load() == i-1 {
					unix.Read(t.reader, pr.one[:]) // the waiter gave up: leave the fd idle, if the byte is still there
					return nil
				}
				if time.Since(start) > handshakeDeadline {
					return pr.fault(fmt.Errorf("cycle %d: the waiter did not return from its wait within %v of fd %d becoming ready", i, handshakeDeadline, t.index))
				}
			}
		}
		if _, err := unix.Read(t.reader, pr.one[:]); err != nil {
			return pr.fault(fmt.Errorf("cycle %d: make fd %d idle again: read from %d: %w", i, t.index, t.reader, err))
		}
		h.idle.Store(i)
	}
}

func (pr *peer) fault(err error) error {
	pr.h.setFailed(err)
	return err
}

// awaitSleep polls the waiter's state until it is asleep (S) inside a
// wait call in cycle i, the waiter ends the job, or the deadline passes.
func (pr *peer) awaitSleep(i uint64) (bool, error) {
	start := time.Now()
	for {
		asleep, err := pr.asleep()
		if err != nil || asleep || pr.h.end.Load() == i-1 {
			return asleep, err
		}
		if time.Since(start) > handshakeDeadline {
			return false, nil
		}
	}
}

// asleep reads the waiter's state once: S in its stat, and in its
// syscall file a wait call (the kernel fills that file only for a thread
// that is off CPU).
func (pr *peer) asleep() (bool, error) {
	n, err := unix.Pread(pr.statFD, pr.buf[:], 0)
	if err != nil {
		return false, fmt.Errorf("read the waiter's stat: %w", err)
	}
	st, err := procfs.ParseTaskState(pr.buf[:n])
	if err != nil || st != 'S' {
		return false, err
	}
	n, err = unix.Pread(pr.sysFD, pr.buf[:], 0)
	if err != nil {
		return false, fmt.Errorf("read the waiter's syscall: %w", err)
	}
	nr, err := procfs.ParseSyscall(pr.buf[:n])
	if errors.Is(err, procfs.ErrTaskRunning) {
		return false, nil
	}
	return err == nil && isWaitSyscall(nr), err
}

// Wakeups is the outcome of TimeWakeups.
type Wakeups struct {
	Cycles      int64         // waits that returned the peer's fd
	Slept       int64         // of those, the ones that slept
	CPU         time.Duration // the thread's CPU inside the waits that slept
	Switches    int64         // voluntary context switches inside every cycle's last wait
	Interrupted int64         // waits that returned no event (a signal), then waited again
	Wrong       int64         // waits that returned another fd than the peer's
	Elapsed     time.Duration // wall time of the cycles
}

// maxWrong bounds the waits of one cycle that return something else than
// the peer's fd before the sample fails.
const maxWrong = 16

// TimeWakeups runs wake-up cycles of p through the peer pr and target t
// within b, counted in cycles: p watches every fd of a layout, nothing
// ready but what the peer makes ready. The calling goroutine must be
// locked to the thread pr watches. It allocates nothing.
func TimeWakeups(p backends.Poller, events []backends.Event, pr *peer, t target, fd int32, b Budget) (Wakeups, error) {
	var w Wakeups
	h := &pr.h
	i := h.idle.Load()
	h.end.Store(noEnd)
	h.fail.Store(nil)
	pr.jobs <- t
	start := time.Now()
	err := func() error {
		var ru unix.Rusage
		for w.Elapsed < b.MaxTime && w.Cycles < b.MaxCalls && (w.Cycles < b.MinCalls || w.Elapsed < b.MinTime) {
			i++
			h.armed.Store(i)
			for wrong := 0; ; {
				sw0 := voluntarySwitches(&ru)
				cpu0 := threadCPU()
				n, err := p.Wait(events, -1)
				cpu1 := threadCPU()
				sw1 := voluntarySwitches(&ru)
				if err != nil {
					return fmt.Errorf("cycle %d: wait: %w", i, err)
				}
				if n == 0 {
					w.Interrupted++
					if err := h.failed(); err != nil {
						return err
					}
					continue
				}
				if n != 1 || events[0].FD != fd || events[0].Ready&backends.Readable == 0 {
					w.Wrong++
					if wrong++; wrong > maxWrong {
						return fmt.Errorf("cycle %d: %d waits in a row returned other fds than %d (the first: %d events, fd %d)", i, wrong, fd, n, events[0].FD)
					}
					continue
				}
				w.Cycles++
				w.Switches += sw1 - sw0
				if sw1 > sw0 {
					w.Slept++
					w.CPU += time.Duration(cpu1 - cpu0)
				}
				break
			}
			h.woke.Store(i)
			spinStart := time.Now()
			for spins := 1; h.idle.Load() != i; spins++ {
				if spins%spinCheck == 0 {
					if err := h.failed(); err != nil {
						return err
					}
					if time.Since(spinStart) > handshakeDeadline {
						return fmt.Errorf("cycle %d: the peer did not make fd %d idle again within %v", i, fd, handshakeDeadline)
					}
				}
			}
			w.Elapsed = time.Since(start)
		}
		return nil
	}()
	w.Elapsed = time.Since(start)
	h.end.Store(h.idle.Load())
	perr := <-pr.result
	if err == nil {
		err = perr
	}
	return w, err
}

// threadCPU returns the calling thread's CPU time in ns, through a raw
// clock_gettime(CLOCK_THREAD_CPUTIME_ID): no scheduler bookkeeping around
// it, nothing allocated.
func threadCPU() int64 {
	var ts unix.Timespec
	unix.RawSyscall(unix.SYS_CLOCK_GETTIME, unix.CLOCK_THREAD_CPUTIME_ID, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// voluntarySwitches returns the calling thread's voluntary context
// switches (getrusage RUSAGE_THREAD, a raw system call): one more each
// time it slept.
func voluntarySwitches(ru *unix.Rusage) int64 {
	unix.Getrusage(unix.RUSAGE_THREAD, ru)
	return ru.Nvcsw
}
