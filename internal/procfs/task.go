package procfs

import (
	"bytes"
	"errors"
	"fmt"
)

// This file parses what another thread can read about a thread's state:
// /proc/self/task/TID/stat's state letter and /proc/self/task/TID/syscall.
// waitcost's peer thread reads them, over and over, to prove the waiter is
// asleep inside its wait before it makes an fd ready; so both parsers work
// on the bytes as read and allocate nothing unless they fail.

// ParseTaskState returns the state letter of a /proc/PID/stat or
// /proc/PID/task/TID/stat line ("1234 (comm) S 1 ..."): R running, S
// sleeping (interruptible), D disk sleep, and so on (proc(5)). The command
// name may hold spaces and parentheses, so the state is the first field
// after the last ')'.
func ParseTaskState(stat []byte) (byte, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) || stat[i+1] != ' ' {
		return 0, fmt.Errorf("stat %q: want \"pid (comm) STATE ...\"", clip(stat))
	}
	st := stat[i+2]
	if st < 'A' || st > 'z' {
		return 0, fmt.Errorf("stat %q: state %q is not a letter", clip(stat), st)
	}
	return st, nil
}

// ErrTaskRunning is returned by ParseSyscall when the task was running
// (the file says "running"): it is in no system call another thread can
// see, whatever it is doing.
var ErrTaskRunning = errors.New("task is running")

// ParseSyscall returns the system call number a blocked task is in, from
// /proc/PID/task/TID/syscall: "NR 0xARG1 ... 0xARG6 0xSP 0xPC" inside a
// call, "-1 0xSP 0xPC" when blocked outside one (nr -1), "running" when
// the task was on a CPU (ErrTaskRunning). The kernel fills it only for a
// task that is off CPU and stays so while it reads the registers.
func ParseSyscall(b []byte) (int, error) {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("running")) {
		return 0, ErrTaskRunning
	}
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	nr, digits := 0, 0
	for digits < len(b) && b[digits] >= '0' && b[digits] <= '9' && digits < 9 {
		nr = nr*10 + int(b[digits]-'0')
		digits++
	}
	if digits == 0 || (digits < len(b) && b[digits] != ' ') {
		return 0, fmt.Errorf("syscall %q: want a system call number first, or \"running\"", clip(b))
	}
	if neg {
		nr = -nr
	}
	return nr, nil
}

// clip shortens a file's content for an error message.
func clip(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}
