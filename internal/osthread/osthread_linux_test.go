package osthread

import (
	"errors"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const deadline = 10 * time.Second

// The main goroutine locked to the main thread, so that TestMain can call
// run there: the one case Go must steer away from.
func init() { runtime.LockOSThread() }

// fromMain is what TestMain saw of run called on the main thread: whether
// it was the main thread, and the thread f then ran on.
var fromMain struct {
	onMain bool
	fTID   int
}

func TestMain(m *testing.M) {
	fromMain.onMain = unix.Gettid() == unix.Getpid()
	ran := make(chan int, 1)
	run(func() { ran <- unix.Gettid() })
	select {
	case fromMain.fTID = <-ran:
	case <-time.After(deadline):
	}
	os.Exit(m.Run())
}

func TestGoAvoidsTheMainThread(t *testing.T) {
	if !fromMain.onMain {
		t.Skip("TestMain did not run on the main thread")
	}
	switch pid := unix.Getpid(); fromMain.fTID {
	case 0:
		t.Fatalf("f called through run on the main thread did not run within %v", deadline)
	case pid:
		t.Fatalf("f ran on the main thread (tid %d); want another thread", pid)
	}
	for range 20 {
		tid := make(chan int, 1)
		Go(func() { tid <- unix.Gettid() })
		if got := recv(t, tid); got == unix.Getpid() {
			t.Fatalf("Go ran f on the main thread")
		}
	}
}

// TestGoEndsTheThread: the thread f ran on is gone once f returns.
func TestGoEndsTheThread(t *testing.T) {
	tid := make(chan int, 1)
	Go(func() { tid <- unix.Gettid() })
	waitGone(t, recv(t, tid))
}

// recv receives from c, bounded: a thread that never reports fails the
// test instead of hanging it.
func recv[T any](t *testing.T, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(deadline):
		t.Fatalf("no report from the thread within %v", deadline)
	}
	var zero T
	return zero
}

func waitGone(t *testing.T, tid int) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		_, err := os.Stat("/proc/self/task/" + strconv.Itoa(tid))
		if errors.Is(err, os.ErrNotExist) {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("thread %d still exists %v after its function returned (stat: %v)", tid, deadline, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// fileID names the file an fd refers to.
type fileID struct{ dev, ino uint64 }

func idOf(fd int) (fileID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fileID{}, err
	}
	return fileID{st.Dev, st.Ino}, nil
}

// TestUnshareFiles: after UnshareFiles the thread keeps stdio, what it was
// told to keep and the runtime's poller, holds /dev/null in place of the
// rest (their numbers still taken), and sees no fd the process opens
// afterwards, nor the process its fds; the process closing a socket the
// thread was given a copy of closes it; the table goes with the thread.
func TestUnshareFiles(t *testing.T) {
	pair := func() [2]int {
		p, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
		return p
	}
	kept, dropped := pair(), pair()
	keptID, err := idOf(kept[0])
	if err != nil {
		t.Fatal(err)
	}

	type seen struct {
		tid         int
		err         error
		keptSame    bool
		droppedLink string
		ownFD       int
		laterID     fileID
		laterErr    error
		hasPoller   bool
	}
	unshared, opened, checked := make(chan seen, 1), make(chan int, 1), make(chan seen, 1)
	release := make(chan struct{})
	Go(func() {
		s := seen{tid: unix.Gettid()}
		if _, s.err = UnshareFiles([]int{kept[0]}); s.err != nil {
			unshared <- s
			return
		}
		// Open one of its own and a copy of the kept end's file.
		if s.ownFD, s.err = unix.Open("/dev/zero", unix.O_RDONLY|unix.O_CLOEXEC, 0); s.err != nil {
			unshared <- s
			return
		}
		defer unix.Close(s.ownFD)
		id, _ := idOf(kept[0])
		s.keptSame = id == keptID
		var link [64]byte
		if n, err := unix.Readlink("/proc/thread-self/fd/"+strconv.Itoa(dropped[0]), link[:]); err == nil {
			s.droppedLink = string(link[:n])
		}
		// The runtime's poller is still usable here: a collection stops and
		// starts the world on this thread (startTheWorld polls the network
		// poller), a sleep arms a timer.
		runtime.GC()
		time.Sleep(time.Millisecond)
		s.hasPoller = true
		unshared <- s
		later := <-opened
		s.laterID, s.laterErr = idOf(later)
		checked <- s
		<-release
	})
	s := recv(t, unshared)
	if s.err != nil {
		t.Fatalf("in the thread: %v", s.err)
	}
	if !s.keptSame {
		t.Errorf("kept fd %d refers to another file in the thread's table", kept[0])
	}
	if s.droppedLink != "/dev/null" {
		t.Errorf("the thread's fd %d (a socket not kept) is %q; want /dev/null in its place", dropped[0], s.droppedLink)
	}
	if s.ownFD == dropped[0] || s.ownFD == dropped[1] {
		t.Errorf("the thread's new fd took number %d, a dropped fd's: the numbers must stay taken", s.ownFD)
	}
	if !s.hasPoller {
		t.Error("the runtime's poller was not usable on the thread")
	}

	// The process closes its end of the dropped pair: the thread held a
	// copy of it no longer, so the peer sees the end of the stream.
	unix.Close(dropped[0])
	unix.SetsockoptTimeval(dropped[1], unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: int64(deadline / time.Second)})
	if n, err := unix.Read(dropped[1], make([]byte, 1)); n != 0 || err != nil {
		t.Errorf("read on the peer of a socket closed by the process = %d, %v; want 0 (EOF): the thread still holds it", n, err)
	}

	// An fd the process opens now is not in the thread's table, and the
	// thread's own fd is not in the process's.
	later, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0) // a socket: an inode of its own
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(later)
	mainLater, _ := idOf(later)
	opened <- later
	s = recv(t, checked)
	if s.laterErr == nil && s.laterID == mainLater {
		t.Errorf("fd %d opened by the process after UnshareFiles is the same file in the thread's table", later)
	}
	var zero unix.Stat_t
	if err := unix.Stat("/dev/zero", &zero); err != nil {
		t.Fatal(err)
	}
	if id, err := idOf(s.ownFD); err == nil && id == (fileID{zero.Dev, zero.Ino}) {
		t.Errorf("the thread's fd %d (/dev/zero) is open in the process's table too", s.ownFD)
	}
	close(release)
	waitGone(t, s.tid)
}
