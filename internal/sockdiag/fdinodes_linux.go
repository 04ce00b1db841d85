package sockdiag

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// SocketInodes returns the inodes of the sockets the processes pids hold
// open, each mapped to the first pid found holding it: a listing of
// /proc/PID/fd and a readlink of each entry. A caller checks with
// Set.NotHeldBy that the sockets on the port are the server's own. A
// thread may hold an fd table of its own (unshare(CLONE_FILES): muxbench's
// own loop threads do, package server), which /proc/PID/fd — the main
// thread's table — does not list, so every thread whose table is not one
// already listed (kcmp(KCMP_FILES)) is listed too, from
// /proc/PID/task/TID/fd. A process that exits while it is read is
// skipped; reading another user's process needs the ptrace access /proc
// and kcmp ask for (root has it). The cost is one readlink per open fd of
// each distinct table: 113 ms for a server with 19,961 sockets (median of
// 5 on a busy 2-core VM), so it suits a check once per point better than
// every window edge.
func SocketInodes(pids ...int) (map[uint64]int, error) {
	out := map[uint64]int{}
	for _, pid := range pids {
		for _, dir := range fdTables(pid) {
			if err := socketInodes(out, pid, dir); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// kcmpFiles is KCMP_FILES (include/uapi/linux/kcmp.h), which x/sys/unix
// does not name: kcmp compares two tasks' fd tables.
const kcmpFiles = 2

// fdTables lists the fd directories of pid's distinct fd tables: the
// process's, then each thread's that shares none listed before it (a
// thread kcmp cannot compare is listed: a table read twice costs time,
// not a wrong answer).
func fdTables(pid int) []string {
	base := "/proc/" + strconv.Itoa(pid)
	dirs := []string{base + "/fd"}
	tasks, err := os.ReadDir(base + "/task")
	if err != nil {
		return dirs
	}
	owners := []int{pid}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil || tid == pid {
			continue
		}
		if sharesTable(tid, owners) {
			continue
		}
		owners = append(owners, tid)
		dirs = append(dirs, base+"/task/"+t.Name()+"/fd")
	}
	return dirs
}

// sharesTable reports whether tid's fd table is one of owners'.
func sharesTable(tid int, owners []int) bool {
	for _, o := range owners {
		r, _, errno := unix.Syscall6(unix.SYS_KCMP, uintptr(o), uintptr(tid), kcmpFiles, 0, 0, 0)
		if errno == 0 && r == 0 {
			return true
		}
	}
	return false
}

// socketInodes adds the socket inodes of the fd directory dir, held by
// pid, to out.
func socketInodes(out map[uint64]int, pid int, dir string) error {
	d, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list socket inodes of process %d: %w", pid, err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
			return nil // the thread ended since the listing
		}
		return fmt.Errorf("list socket inodes of process %d: %w", pid, err)
	}
	var buf [64]byte
	for _, name := range names {
		n, err := unix.Readlinkat(int(d.Fd()), name, buf[:])
		if err != nil {
			continue // the fd was closed since the listing
		}
		if ino, ok := ParseSocketLink(string(buf[:n])); ok {
			if _, seen := out[ino]; !seen {
				out[ino] = pid
			}
		}
	}
	return nil
}
