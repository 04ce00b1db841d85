package iouring

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrUnsupported is wrapped by every error that means io_uring cannot be
// used here at all (as opposed to a failure of one call): the harness
// records such a backend's points as unsupported with the error's text,
// which starts "unsupported:" and says how to fix it.
var ErrUnsupported = errors.New("unsupported")

// unsupported makes an ErrUnsupported error.
func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsupported}, args...)...)
}

// DisabledPath is the sysctl that turns io_uring off (Linux 6.6+): 0 on,
// 1 only for members of kernel.io_uring_group, 2 off for everyone.
const DisabledPath = "/proc/sys/kernel/io_uring_disabled"

// setupError classifies an io_uring_setup failure. disabled is the text of
// DisabledPath ("" when the file does not exist: older kernels).
func setupError(errno unix.Errno, disabled string) error {
	switch d := strings.TrimSpace(disabled); {
	case errno == unix.ENOSYS:
		return unsupported("this kernel has no io_uring (io_uring_setup: ENOSYS): it needs Linux 6.1 or later built with CONFIG_IO_URING")
	case errno == unix.EPERM && d == "2":
		return unsupported("io_uring is disabled by sysctl kernel.io_uring_disabled=2: set it to 0 (sysctl -w kernel.io_uring_disabled=0)")
	case errno == unix.EPERM && d == "1":
		return unsupported("sysctl kernel.io_uring_disabled=1 allows io_uring only to members of kernel.io_uring_group: add this user to that group, or set kernel.io_uring_disabled=0")
	case errno == unix.EPERM:
		return unsupported("io_uring_setup refused (EPERM) though kernel.io_uring_disabled is %q: a seccomp filter or container runtime blocks it; allow io_uring_setup, io_uring_enter and io_uring_register (e.g. docker --security-opt seccomp=<profile allowing them>)", d)
	case errno == unix.EINVAL:
		return unsupported("io_uring_setup rejects the flags muxbench uses (EINVAL; SINGLE_ISSUER and DEFER_TASKRUN came in 6.0 and 6.1): the kernel is too old, it needs Linux 6.1 or later")
	case errno == unix.ENOMEM:
		return fmt.Errorf("io_uring_setup: %w (raise RLIMIT_MEMLOCK on kernels before 5.12)", errno)
	}
	return fmt.Errorf("io_uring_setup: %w", errno)
}

// featureError names the features io_uring_setup did not report among
// need, or returns nil.
func featureError(have, need uint32) error {
	names := []struct {
		bit  uint32
		name string
	}{
		{FeatSingleMMap, "IORING_FEAT_SINGLE_MMAP (5.4)"},
		{FeatNoDrop, "IORING_FEAT_NODROP (5.5)"},
		{FeatExtArg, "IORING_FEAT_EXT_ARG (5.11)"},
		{FeatCQESkip, "IORING_FEAT_CQE_SKIP (5.17)"},
	}
	var missing []string
	for _, n := range names {
		if need&n.bit != 0 && have&n.bit == 0 {
			missing = append(missing, n.name)
		}
	}
	if len(missing) > 0 {
		return unsupported("the kernel's io_uring lacks %s: it needs Linux 6.0 or later", strings.Join(missing, ", "))
	}
	return nil
}

// opsError names the opcodes among need that a probe (IORING_REGISTER_PROBE)
// did not mark supported, or returns nil. supported[op] is the probe's
// answer for op; ops past its end are unsupported.
func opsError(supported []bool, need []uint8) error {
	var missing []string
	for _, op := range need {
		if int(op) >= len(supported) || !supported[op] {
			missing = append(missing, opName(op))
		}
	}
	if len(missing) > 0 {
		return unsupported("the kernel's io_uring does not support %s: it needs Linux 6.0 or later", strings.Join(missing, ", "))
	}
	return nil
}

func opName(op uint8) string {
	switch op {
	case OpPollAdd:
		return "IORING_OP_POLL_ADD"
	case OpPollRemove:
		return "IORING_OP_POLL_REMOVE"
	case OpAccept:
		return "IORING_OP_ACCEPT"
	case OpSend:
		return "IORING_OP_SEND"
	case OpRecv:
		return "IORING_OP_RECV"
	case OpAsyncCancel:
		return "IORING_OP_ASYNC_CANCEL"
	}
	return fmt.Sprintf("opcode %d", op)
}
