// Package iouring is a small io_uring(7) ring on golang.org/x/sys/unix:
// io_uring_setup, the one mmap of the SQ and CQ rings
// (IORING_FEAT_SINGLE_MMAP) plus the SQE array, io_uring_enter as a raw
// system call, and the checks that tell up front whether this kernel and
// this process may use io_uring at all (see Check).
//
// Why not a Go io_uring package: none is served by the module proxy here,
// and the ones known (giouring, iouring-go, go-uring) either wrap every
// request in goroutines and channels or take locks per SQE, which would be
// measured instead of io_uring. This ring costs one atomic store per batch
// of SQEs and one atomic load per batch of CQEs, and allocates nothing
// after New.
//
// Memory ordering: the kernel reads the SQ tail and writes the SQ head;
// it writes the CQ tail and reads the CQ head. Each side's index is
// published with an atomic store after the entries it covers are written,
// and read with an atomic load before the entries are read (Go's
// sync/atomic operations are sequentially consistent, which is at least
// the acquire/release liburing uses). Entries themselves are plain memory.
//
// A Ring is used from one goroutine; it is not safe for concurrent use.
package iouring

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// SQE is struct io_uring_sqe (64 bytes). OpFlags is the union of
// poll32_events, msg_flags, accept_flags and the other per-op flags.
type SQE struct {
	Opcode      uint8
	Flags       uint8
	Ioprio      uint16
	Fd          int32
	Off         uint64
	Addr        uint64
	Len         uint32
	OpFlags     uint32
	UserData    uint64
	BufIndex    uint16 // buf_index or buf_group
	Personality uint16
	SpliceFdIn  int32
	Addr3       uint64
	_           uint64
}

// CQE is struct io_uring_cqe (16 bytes; rings here never use CQE32).
type CQE struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

// params is struct io_uring_params.
type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  struct {
		head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
		resv2                                                           uint64
	}
	cqOff struct {
		head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
		resv2                                                           uint64
	}
}

// getEventsArg is struct io_uring_getevents_arg (IORING_ENTER_EXT_ARG).
type getEventsArg struct {
	sigmask   uint64
	sigmaskSz uint32
	pad       uint32
	ts        uint64
}

// Ring is one io_uring instance and its mapped queues.
type Ring struct {
	fd       int
	features uint32
	ringMem  []byte // SQ and CQ rings, one mapping
	sqeMem   []byte

	sqHead, sqTail *uint32 // kernel-owned head, shared tail
	sqMask         uint32
	sqes           []SQE
	sqLocal        uint32 // tail of the SQEs handed out, published by publish

	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           []CQE

	// disabled: set up with SetupRDisabled and not yet enabled by the
	// first Submit or Wait.
	disabled bool
	// Kept here so a timed wait passes pointers into the Ring, not into
	// a fresh allocation.
	arg getEventsArg
	ts  unix.Timespec
}

// New sets up a ring with room for entries SQEs (a power of two; the CQ
// ring gets cqEntries, at least twice that) and the given IORING_SETUP_*
// flags. Setup failures are classified by Check's rules: an error from New
// wraps ErrUnsupported when io_uring is not usable here at all.
func New(entries, cqEntries, flags uint32) (*Ring, error) {
	p := params{flags: flags | SetupCQSize, cqEntries: cqEntries}
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, setupError(errno, readDisabled())
	}
	r := &Ring{fd: int(fd), features: p.features, disabled: flags&SetupRDisabled != 0}
	if err := featureError(p.features, FeatSingleMMap|FeatExtArg|FeatNoDrop|FeatCQESkip); err != nil {
		unix.Close(r.fd)
		return nil, err
	}
	if err := r.mmap(&p); err != nil {
		unix.Close(r.fd)
		return nil, err
	}
	return r, nil
}

func (r *Ring) mmap(p *params) error {
	// With FEAT_SINGLE_MMAP one mapping covers both rings: its size is the
	// larger of the two rings' ends.
	size := max(p.sqOff.array+p.sqEntries*4, p.cqOff.cqes+p.cqEntries*uint32(unsafe.Sizeof(CQE{})))
	mem, err := unix.Mmap(r.fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("mmap io_uring rings (%d bytes): %w", size, err)
	}
	sqes, err := unix.Mmap(r.fd, 0x10000000, int(p.sqEntries)*int(unsafe.Sizeof(SQE{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		unix.Munmap(mem)
		return fmt.Errorf("mmap io_uring SQE array: %w", err)
	}
	r.ringMem, r.sqeMem = mem, sqes
	base := unsafe.Pointer(&mem[0])
	at := func(off uint32) unsafe.Pointer { return unsafe.Add(base, off) }
	r.sqHead, r.sqTail = (*uint32)(at(p.sqOff.head)), (*uint32)(at(p.sqOff.tail))
	r.sqMask = *(*uint32)(at(p.sqOff.ringMask))
	// The SQ index array maps ring slot i to SQE i once and for all, so an
	// SQE is written in place and only the tail moves.
	array := unsafe.Slice((*uint32)(at(p.sqOff.array)), p.sqEntries)
	for i := range array {
		array[i] = uint32(i)
	}
	r.sqes = unsafe.Slice((*SQE)(unsafe.Pointer(&sqes[0])), p.sqEntries)
	r.cqHead, r.cqTail = (*uint32)(at(p.cqOff.head)), (*uint32)(at(p.cqOff.tail))
	r.cqMask = *(*uint32)(at(p.cqOff.ringMask))
	r.cqes = unsafe.Slice((*CQE)(at(p.cqOff.cqes)), p.cqEntries)
	return nil
}

// FD is the ring's file descriptor (for io_uring_register).
func (r *Ring) FD() int { return r.fd }

// GetSQE returns the next free SQE, zeroed, or nil when the SQ ring is
// full (submit first). It is not visible to the kernel until Submit or
// Wait publishes it.
func (r *Ring) GetSQE() *SQE {
	if r.sqLocal-atomic.LoadUint32(r.sqHead) >= uint32(len(r.sqes)) {
		return nil
	}
	sqe := &r.sqes[r.sqLocal&r.sqMask]
	*sqe = SQE{}
	r.sqLocal++
	return sqe
}

// Pending is how many SQEs were handed out and not yet consumed by the
// kernel.
func (r *Ring) Pending() uint32 { return r.sqLocal - atomic.LoadUint32(r.sqHead) }

// publish makes every SQE handed out visible to the kernel and returns
// how many it has not consumed yet.
func (r *Ring) publish() uint32 {
	atomic.StoreUint32(r.sqTail, r.sqLocal)
	return r.sqLocal - atomic.LoadUint32(r.sqHead)
}

// enable makes a ring set up with SetupRDisabled usable; with
// SetupSingleIss the calling thread becomes its only submitter, so the
// caller must be locked to its thread (runtime.LockOSThread).
func (r *Ring) enable() error {
	if !r.disabled {
		return nil
	}
	if err := r.register(registerEnable, nil, 0); err != nil {
		return fmt.Errorf("io_uring_register enable rings: %w", err)
	}
	r.disabled = false
	return nil
}

// Submit hands pending SQEs to the kernel without waiting. The first
// Submit or Wait of a ring set up with SetupRDisabled enables it for the
// calling thread, which must then make every later Submit and Wait.
func (r *Ring) Submit() error {
	if err := r.enable(); err != nil {
		return err
	}
	n := r.publish()
	if n == 0 {
		return nil
	}
	_, err := enter(r.fd, n, 0, 0, nil)
	return err
}

// Wait submits pending SQEs and, in the same io_uring_enter, waits until
// at least one CQE is ready or timeoutMs passes (-1: no limit; 0: do not
// wait). A signal interrupting the wait returns unix.EINTR, a timeout
// unix.ETIME; either way SQEs the kernel took stay taken (Pending says).
func (r *Ring) Wait(timeoutMs int) error {
	if err := r.enable(); err != nil {
		return err
	}
	n := r.publish()
	var flags, minComplete uint32 = EnterGetEvents, 1
	var arg unsafe.Pointer
	switch {
	case timeoutMs == 0:
		minComplete = 0
	case timeoutMs > 0:
		r.ts = unix.NsecToTimespec(int64(timeoutMs) * 1e6)
		r.arg = getEventsArg{ts: uint64(uintptr(unsafe.Pointer(&r.ts)))}
		arg = unsafe.Pointer(&r.arg)
		flags |= EnterExtArg
	}
	if minComplete == 1 && r.Ready() > 0 {
		minComplete = 0 // completions already waiting: only submit
	}
	_, err := enter(r.fd, n, minComplete, flags, arg)
	return err
}

// Ready is how many CQEs wait to be read.
func (r *Ring) Ready() uint32 { return atomic.LoadUint32(r.cqTail) - *r.cqHead }

// CQE returns the i-th ready CQE (i < Ready()); it stays valid until
// Advance.
func (r *Ring) CQE(i uint32) *CQE { return &r.cqes[(*r.cqHead+i)&r.cqMask] }

// Advance gives n read CQEs back to the kernel.
func (r *Ring) Advance(n uint32) { atomic.StoreUint32(r.cqHead, *r.cqHead+n) }

// Close unmaps the rings and closes the ring's fd; the kernel cancels
// whatever requests are still in flight.
func (r *Ring) Close() error {
	if r.fd < 0 {
		return nil
	}
	unix.Munmap(r.sqeMem)
	unix.Munmap(r.ringMem)
	err := unix.Close(r.fd)
	r.fd = -1
	if err != nil {
		return fmt.Errorf("close io_uring fd: %w", err)
	}
	return nil
}

// enter is io_uring_enter(2) as a raw system call: like the other
// multiplexers' waits (package rawwait), a blocking enter keeps the
// goroutine's P, so the runtime's sysmon thread is not woken around every
// wait and measured as the backend's cost.
func enter(fd int, toSubmit, minComplete, flags uint32, arg unsafe.Pointer) (int, error) {
	var argSz uintptr
	if arg != nil {
		argSz = unsafe.Sizeof(getEventsArg{})
	}
	n, _, errno := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(fd), uintptr(toSubmit), uintptr(minComplete), uintptr(flags), uintptr(arg), argSz)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// register is io_uring_register(2).
func (r *Ring) register(op uint32, arg unsafe.Pointer, n uint32) error {
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), uintptr(op), uintptr(arg), uintptr(n), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
