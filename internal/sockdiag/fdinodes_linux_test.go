package sockdiag

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/osthread"
)

// TestSocketInodesPrivateTable: a socket open only in a thread's own fd
// table (the server's loop threads) is found, and one in the process's.
func TestSocketInodesPrivateTable(t *testing.T) {
	inode := func(fd int) uint64 {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	mainFD, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(mainFD)
	type opened struct {
		ino uint64
		err error
	}
	got, done := make(chan opened, 1), make(chan struct{})
	defer close(done)
	osthread.Go(func() {
		var o opened
		if _, o.err = osthread.UnshareFiles(nil); o.err == nil {
			var fd int
			if fd, o.err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); o.err == nil {
				defer unix.Close(fd)
				var st unix.Stat_t
				o.err = unix.Fstat(fd, &st)
				o.ino = st.Ino
			}
		}
		got <- o
		<-done
	})
	var o opened
	select {
	case o = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the thread did not open its socket within 10s")
	}
	if o.err != nil {
		t.Fatalf("in the thread: %v", o.err)
	}
	inodes, err := SocketInodes(unix.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := inodes[o.ino]; !ok {
		t.Errorf("socket inode %d open only in a thread's own fd table not found", o.ino)
	}
	if _, ok := inodes[inode(mainFD)]; !ok {
		t.Errorf("socket inode %d open in the process's table not found", inode(mainFD))
	}
}
