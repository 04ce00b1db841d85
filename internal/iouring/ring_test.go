package iouring

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// newRing makes a ring for the test's goroutine, locked to its thread:
// the ring is single-issuer (SetupFlags).
func newRing(t *testing.T) *Ring {
	t.Helper()
	runtime.LockOSThread()
	r, err := New(8, 16, SetupFlags)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestNopRoundTrip(t *testing.T) {
	r := newRing(t)
	for i := uint64(1); i <= 3; i++ {
		sqe := r.GetSQE()
		sqe.Opcode, sqe.UserData = OpNop, i
	}
	if got := r.Pending(); got != 3 {
		t.Fatalf("Pending = %d; want 3", got)
	}
	if err := r.Wait(1000); err != nil {
		t.Fatal(err)
	}
	if got := r.Pending(); got != 0 {
		t.Errorf("Pending after Wait = %d; want 0", got)
	}
	// NOPs complete inline: all three are there after one enter.
	if got := r.Ready(); got != 3 {
		t.Fatalf("Ready = %d; want 3", got)
	}
	for i := uint32(0); i < 3; i++ {
		if c := r.CQE(i); c.UserData != uint64(i+1) || c.Res != 0 {
			t.Errorf("CQE %d = %+v; want user data %d, res 0", i, *c, i+1)
		}
	}
	r.Advance(3)
	if got := r.Ready(); got != 0 {
		t.Errorf("Ready after Advance = %d; want 0", got)
	}
}

func TestSQFull(t *testing.T) {
	r := newRing(t)
	for i := 0; i < 8; i++ {
		if r.GetSQE() == nil {
			t.Fatalf("GetSQE %d = nil; the ring has 8 entries", i)
		}
	}
	if r.GetSQE() != nil {
		t.Fatal("GetSQE on a full SQ ring returned an entry")
	}
	if err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	if r.GetSQE() == nil {
		t.Fatal("GetSQE after Submit = nil; the kernel consumed the ring")
	}
}

func TestMultishotPollOnPipe(t *testing.T) {
	r := newRing(t)
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	sqe := r.GetSQE()
	sqe.Opcode, sqe.Fd, sqe.Len, sqe.OpFlags, sqe.UserData = OpPollAdd, int32(p[0]), PollAddMulti, unix.POLLIN, 7
	if err := r.Wait(0); err != nil {
		t.Fatal(err)
	}
	if got := r.Ready(); got != 0 {
		t.Fatalf("an empty pipe completed a poll (%d CQEs)", got)
	}
	// The runtime's preemption signal may interrupt the wait (EINTR)
	// before its timeout; a bounded number of retries reaches ETIME.
	var err error = unix.EINTR
	for i := 0; i < 100 && err == unix.EINTR; i++ {
		err = r.Wait(10)
	}
	if err != unix.ETIME {
		t.Fatalf("Wait(10) on an idle ring = %v; want ETIME", err)
	}
	for round := 0; round < 2; round++ {
		unix.Write(p[1], []byte("x"))
		if err := r.Wait(5000); err != nil {
			t.Fatal(err)
		}
		if r.Ready() != 1 {
			t.Fatalf("round %d: Ready = %d; want 1", round, r.Ready())
		}
		c := *r.CQE(0)
		r.Advance(1)
		if c.UserData != 7 || c.Res&unix.POLLIN == 0 || c.Flags&CQEFMore == 0 {
			t.Fatalf("round %d: CQE = %+v; want user data 7, POLLIN, F_MORE (still armed)", round, c)
		}
	}
}

func TestCheckPollHere(t *testing.T) {
	// This machine has io_uring (kernel.io_uring_disabled=0); a failure
	// here is a bug in the check, not a missing feature.
	if err := CheckPoll(); err != nil {
		t.Fatalf("CheckPoll: %v", err)
	}
}

func TestSetupError(t *testing.T) {
	for _, tc := range []struct {
		errno    unix.Errno
		disabled string
		unsup    bool
		want     string
	}{
		{unix.ENOSYS, "", true, "no io_uring"},
		{unix.EPERM, "2\n", true, "kernel.io_uring_disabled=2"},
		{unix.EPERM, "1\n", true, "kernel.io_uring_group"},
		{unix.EPERM, "0\n", true, "seccomp"},
		{unix.EPERM, "", true, "seccomp"},
		{unix.EINVAL, "0\n", true, "too old"},
		{unix.ENOMEM, "0\n", false, "RLIMIT_MEMLOCK"},
		{unix.EFAULT, "0\n", false, "io_uring_setup"},
	} {
		err := setupError(tc.errno, tc.disabled)
		if got := errors.Is(err, ErrUnsupported); got != tc.unsup {
			t.Errorf("setupError(%v, %q) = %v; unsupported %v, want %v", tc.errno, tc.disabled, err, got, tc.unsup)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("setupError(%v, %q) = %q; want it to mention %q", tc.errno, tc.disabled, err, tc.want)
		}
		if tc.unsup && !strings.HasPrefix(err.Error(), "unsupported: ") {
			t.Errorf("setupError(%v, %q) = %q; want it to start \"unsupported: \"", tc.errno, tc.disabled, err)
		}
	}
}

func TestFeatureAndOpsError(t *testing.T) {
	if err := featureError(FeatSingleMMap|FeatExtArg, FeatSingleMMap|FeatExtArg); err != nil {
		t.Errorf("featureError with every feature = %v; want nil", err)
	}
	err := featureError(FeatSingleMMap, FeatSingleMMap|FeatExtArg|FeatCQESkip)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "IORING_FEAT_EXT_ARG") || !strings.Contains(err.Error(), "IORING_FEAT_CQE_SKIP") {
		t.Errorf("featureError missing EXT_ARG and CQE_SKIP = %v; want an unsupported error naming both", err)
	}
	ops := make([]bool, OpPollRemove+1)
	ops[OpPollAdd], ops[OpPollRemove] = true, true
	if err := opsError(ops, []uint8{OpPollAdd, OpPollRemove}); err != nil {
		t.Errorf("opsError with both ops = %v; want nil", err)
	}
	err = opsError(ops, []uint8{OpPollAdd, OpRecv})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "IORING_OP_RECV") {
		t.Errorf("opsError past the probe's end = %v; want an unsupported error naming IORING_OP_RECV", err)
	}
}

func TestCheckServerHere(t *testing.T) {
	if err := CheckServer(); err != nil {
		t.Fatalf("CheckServer: %v", err)
	}
}

func TestBufRingRecv(t *testing.T) {
	r := newRing(t)
	br, err := r.NewBufRing(3, 4, 16)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.Close() })
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(sp[0]); unix.Close(sp[1]) })
	sqe := r.GetSQE()
	sqe.Opcode, sqe.Fd, sqe.Ioprio, sqe.Flags, sqe.BufIndex, sqe.UserData = OpRecv, int32(sp[0]), RecvMultishot, SQEBufferSelect, 3, 9
	// More rounds than buffers: each buffer must come back through Return.
	for round := 0; round < 10; round++ {
		msg := []byte{'a' + byte(round)}
		unix.Write(sp[1], msg)
		if err := r.Wait(5000); err != nil {
			t.Fatal(err)
		}
		if r.Ready() != 1 {
			t.Fatalf("round %d: Ready = %d; want 1", round, r.Ready())
		}
		c := *r.CQE(0)
		r.Advance(1)
		if c.Res != 1 || c.Flags&CQEFBuffer == 0 || c.Flags&CQEFMore == 0 {
			t.Fatalf("round %d: CQE %+v; want 1 byte in a provided buffer, still armed", round, c)
		}
		bid := uint16(c.Flags >> CQEBufferShift)
		if got := br.Buf(bid, 1); got[0] != msg[0] {
			t.Fatalf("round %d: buffer %d holds %q; want %q", round, bid, got, msg)
		}
		br.Return(bid)
		br.Publish()
	}
}
