package procfs

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// threadSelfChildren is the children file of the calling thread: whether
// it exists tells whether the kernel has children files at all.
const threadSelfChildren = "/proc/thread-self/children"

// TreeReader snapshots one process tree again and again (at each window
// edge), reusing its read buffer. It is not safe for concurrent use.
type TreeReader struct {
	root int
	buf  []byte
	// scan is set when the kernel has no children files
	// (CONFIG_PROC_CHILDREN off): the tree is then found from every
	// process's parent id.
	scan bool
}

// NewTreeReader returns a TreeReader for the tree rooted at pid root.
func NewTreeReader(root int) (*TreeReader, error) {
	if root <= 0 {
		return nil, fmt.Errorf("process tree: pid %d; want the server's pid (> 0)", root)
	}
	_, err := os.Stat(threadSelfChildren)
	return &TreeReader{root: root, buf: make([]byte, 0, 4096), scan: errors.Is(err, os.ErrNotExist)}, nil
}

// gone reports whether err means the process or thread exited while it was
// being read.
func gone(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ESRCH)
}

// read returns the contents of a /proc file in r.buf, valid until the next
// read. It uses the raw system calls: an os.File costs a finalizer and a
// try at registering with the netpoller per open, a third of a snapshot's
// time when every thread has three files.
func (r *TreeReader) read(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	r.buf = r.buf[:0]
	for {
		if len(r.buf) == cap(r.buf) {
			r.buf = append(r.buf, 0)[:len(r.buf)]
		}
		n, err := unix.Read(fd, r.buf[len(r.buf):cap(r.buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return r.buf, nil
		}
		r.buf = r.buf[:len(r.buf)+n]
	}
}

// Snapshot reads the tree as it is now. The root must be running; a
// descendant or thread that exits while the snapshot is taken is left
// out, as if it had exited just before.
func (r *TreeReader) Snapshot() (TreeSnapshot, error) {
	s := TreeSnapshot{Root: r.root}
	var parents map[int][]int
	if r.scan {
		var err error
		if parents, err = scanParents(); err != nil {
			return s, err
		}
	}
	queue := []int{r.root}
	seen := map[int]bool{r.root: true}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		kids, err := r.process(pid, &s, parents)
		if err != nil {
			if pid == r.root || !gone(err) {
				return s, err
			}
			continue
		}
		for _, k := range kids {
			if !seen[k] {
				seen[k] = true
				queue = append(queue, k)
			}
		}
	}
	return s, nil
}

// process adds pid and its threads to s and returns its children: from its
// threads' children files, or from parents when scanning.
func (r *TreeReader) process(pid int, s *TreeSnapshot, parents map[int][]int) ([]int, error) {
	dir := "/proc/" + strconv.Itoa(pid)
	b, err := r.read(dir + "/stat")
	if err != nil {
		return nil, fmt.Errorf("read process %d: %w", pid, err)
	}
	st, err := ParsePIDStat(b)
	if err != nil {
		return nil, fmt.Errorf("read process %d: %w", pid, err)
	}
	// A zombie (exited, not yet reaped) counts as gone; so, rarely, does a
	// process whose main thread exited before its other threads.
	if st.State == 'Z' || st.State == 'X' {
		return nil, fmt.Errorf("read process %d: it has exited (state %c): %w", pid, st.State, os.ErrNotExist)
	}
	p := ProcessSample{PID: pid, PPID: st.PPID, Comm: st.Comm, StartTime: st.StartTime, StatTicks: st.UTime + st.STime, Threads: st.Threads}
	t, err := os.Open(dir + "/task")
	if err != nil {
		return nil, fmt.Errorf("list threads of process %d: %w", pid, err)
	}
	names, err := t.Readdirnames(-1)
	t.Close()
	if err != nil {
		return nil, fmt.Errorf("list threads of process %d: %w", pid, err)
	}
	var kids []int
	rss := false
	for _, name := range names {
		tid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		task := dir + "/task/" + name
		th, ts, err := r.thread(task, pid, tid)
		if gone(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read thread %d of process %d: %w", tid, pid, err)
		}
		if !rss && ts.HasRSS { // the main thread's, or another's if it is a zombie
			p.RSSKiB, rss = ts.RSSKiB, true
		}
		s.Threads = append(s.Threads, th)
		if parents != nil {
			continue
		}
		b, err := r.read(task + "/children")
		if gone(err) {
			continue
		}
		var k []int
		if err == nil {
			k, err = ParseChildren(b)
		}
		if err != nil {
			return nil, fmt.Errorf("read children of thread %d of process %d: %w", tid, pid, err)
		}
		kids = append(kids, k...)
	}
	if parents != nil {
		kids = parents[pid]
	}
	s.Processes = append(s.Processes, p)
	return kids, nil
}

// thread reads one thread's schedstat and status (task is its
// /proc/PID/task/TID directory).
func (r *TreeReader) thread(task string, pid, tid int) (ThreadSample, TaskStatus, error) {
	b, err := r.read(task + "/schedstat")
	if err != nil {
		return ThreadSample{}, TaskStatus{}, err
	}
	cpu, err := ParseSchedstat(b)
	if err != nil {
		return ThreadSample{}, TaskStatus{}, err
	}
	if b, err = r.read(task + "/status"); err != nil {
		return ThreadSample{}, TaskStatus{}, err
	}
	ts, err := ParseTaskStatus(b)
	if err != nil {
		return ThreadSample{}, TaskStatus{}, err
	}
	return ThreadSample{PID: pid, TID: tid, Comm: ts.Name, CPUNs: cpu, VoluntaryCtxt: ts.VoluntaryCtxt, NonvoluntaryCtxt: ts.NonvoluntaryCtxt}, ts, nil
}

// scanParents maps every process on the machine to its children, from the
// parent ids in each /proc/N/stat: the fallback where the kernel has no
// children files. It costs one read per process on the machine.
func scanParents() (map[int][]int, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, fmt.Errorf("scan processes: %w", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, fmt.Errorf("scan processes: %w", err)
	}
	out := map[int][]int{}
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + name + "/stat")
		if err != nil {
			continue // exited since the listing
		}
		st, err := ParsePIDStat(b)
		if err != nil {
			return nil, fmt.Errorf("scan processes: %w", err)
		}
		out[st.PPID] = append(out[st.PPID], pid)
	}
	for _, kids := range out {
		slices.Sort(kids)
	}
	return out, nil
}

// ReadTree snapshots the tree rooted at pid root once. A caller reading at
// every window edge should keep a TreeReader.
func ReadTree(root int) (TreeSnapshot, error) {
	r, err := NewTreeReader(root)
	if err != nil {
		return TreeSnapshot{}, err
	}
	return r.Snapshot()
}
