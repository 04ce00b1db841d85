package iouring

import (
	"os"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// readDisabled returns the text of DisabledPath, or "" without it.
func readDisabled() string {
	b, err := os.ReadFile(DisabledPath)
	if err != nil {
		return ""
	}
	return string(b)
}

// probe is struct io_uring_probe with room for every opcode.
type probe struct {
	lastOp, opsLen uint8
	resv           uint16
	resv2          [3]uint32
	ops            [256]struct {
		op, resv uint8
		flags    uint16
		resv2    uint32
	}
}

// Supported reports, per opcode, whether the kernel implements it
// (IORING_REGISTER_PROBE, 5.6).
func (r *Ring) Supported() ([]bool, error) {
	var p probe
	if err := r.register(registerProbe, unsafe.Pointer(&p), uint32(len(p.ops))); err != nil {
		if err == unix.EINVAL {
			return nil, unsupported("io_uring has no IORING_REGISTER_PROBE: it needs Linux 6.0 or later")
		}
		return nil, err
	}
	ok := make([]bool, int(p.opsLen))
	for i := range ok {
		ok[i] = p.ops[i].flags&1 != 0 // IO_URING_OP_SUPPORTED
	}
	return ok, nil
}

// SetupFlags are the IORING_SETUP_* flags muxbench's rings use (liburing's
// advice for one-thread servers): SUBMIT_ALL so one failing SQE does not
// hold back the rest of a batch; SINGLE_ISSUER and DEFER_TASKRUN so the
// kernel's completion work (a socket woke a poll: post its CQE) runs in
// batches when the loop waits, not at the exit of every read and write —
// where it made the Go runtime's sysmon take the loop's P from a "slow"
// syscall, a context switch per few requests; COOP_TASKRUN so no IPI
// interrupts the loop either. R_DISABLED: a ring is set up by one thread
// and enabled by the first to enter it (see Ring.Wait), which then owns
// it — the server's loop thread.
const SetupFlags = SetupSubmitAll | SetupCoopTaskrun | SetupSingleIss | SetupDeferTask | SetupRDisabled

// CheckPoll tells whether the uring-poll backend can run here, probing
// once per process (checkPoll).
var CheckPoll = sync.OnceValue(checkPoll)

// CheckServer tells whether the uring server can run here, probing once
// per process (checkServer).
var CheckServer = sync.OnceValue(checkServer)

// checkPoll tells whether the uring-poll backend can run here: a ring
// with SetupFlags, POLL_ADD and ASYNC_CANCEL, and a multishot poll that
// really stays armed (IORING_POLL_ADD_MULTI, 5.13) — tried on an eventfd.
// Its error wraps ErrUnsupported when io_uring is not usable here.
func checkPoll() error {
	runtime.LockOSThread() // the ring belongs to the thread that enters it
	defer runtime.UnlockOSThread()
	r, err := New(8, 16, SetupFlags)
	if err != nil {
		return err
	}
	defer r.Close()
	ops, err := r.Supported()
	if err != nil {
		return err
	}
	if err := opsError(ops, []uint8{OpPollAdd, OpAsyncCancel}); err != nil {
		return err
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(efd)
	sqe := r.GetSQE()
	sqe.Opcode, sqe.Fd, sqe.Len, sqe.OpFlags, sqe.UserData = OpPollAdd, int32(efd), PollAddMulti, unix.POLLIN, 1
	one := [8]byte{1}
	unix.Write(efd, one[:])
	if err := r.Wait(1000); err != nil {
		return err
	}
	return multishotError("IORING_POLL_ADD_MULTI (5.13)", r)
}

// multishotError checks that the first CQE says its request stays armed.
func multishotError(what string, r *Ring) error {
	if r.Ready() == 0 {
		return unsupported("a %s request gave no completion within a second", what)
	}
	c := *r.CQE(0)
	r.Advance(1)
	if c.Res < 0 {
		return unsupported("io_uring rejects %s: %v; it needs Linux 6.0 or later", what, unix.Errno(-c.Res))
	}
	if c.Flags&CQEFMore == 0 {
		return unsupported("io_uring ends a %s request after one completion: it needs Linux 6.0 or later", what)
	}
	return nil
}

// checkServer tells whether the uring server can run here: everything
// checkPoll needs, plus ACCEPT, RECV, SEND and ASYNC_CANCEL, a provided
// buffer ring, and a multishot recv that stays armed (6.0) — tried on a
// socket pair. Multishot accept (5.19) comes with both.
func checkServer() error {
	if err := CheckPoll(); err != nil {
		return err
	}
	runtime.LockOSThread() // the ring belongs to the thread that enters it
	defer runtime.UnlockOSThread()
	r, err := New(8, 16, SetupFlags)
	if err != nil {
		return err
	}
	defer r.Close()
	ops, err := r.Supported()
	if err != nil {
		return err
	}
	if err := opsError(ops, []uint8{OpAccept, OpRecv, OpSend, OpAsyncCancel}); err != nil {
		return err
	}
	br, err := r.NewBufRing(0, 2, 64)
	if err != nil {
		return err
	}
	defer br.Close()
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(sp[0])
	defer unix.Close(sp[1])
	sqe := r.GetSQE()
	sqe.Opcode, sqe.Fd, sqe.Ioprio, sqe.Flags, sqe.BufIndex, sqe.UserData = OpRecv, int32(sp[0]), RecvMultishot, SQEBufferSelect, 0, 1
	unix.Write(sp[1], []byte("x"))
	if err := r.Wait(1000); err != nil {
		return err
	}
	return multishotError("multishot IORING_OP_RECV with a provided buffer ring (6.0)", r)
}
