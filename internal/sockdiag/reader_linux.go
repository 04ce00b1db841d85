package sockdiag

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// procNetFiles are the /proc tables the fallback reads, IPv4 then IPv6.
var procNetFiles = []string{"/proc/net/tcp", "/proc/net/tcp6"}

// refusals are the errors that mean sock_diag is not available to this
// process (not built, not loaded, forbidden, or a filter it does not
// understand), as opposed to a failure of the read itself: on these the
// reader falls back to /proc.
var refusals = []error{unix.EPERM, unix.EACCES, unix.EPROTONOSUPPORT, unix.EAFNOSUPPORT, unix.ENOENT, unix.EOPNOTSUPP, unix.EINVAL}

// Refused reports whether err means sock_diag was refused rather than that
// the read failed.
func Refused(err error) bool {
	for _, r := range refusals {
		if errors.Is(err, r) {
			return true
		}
	}
	return false
}

// Reader reads the ESTABLISHED sockets on one port again and again (at each
// edge of each window), reusing its buffers: its reads allocate the result
// slices, sized from the previous read, and little else. A Reader is not
// safe for concurrent use.
type Reader struct {
	port    uint16
	recv    []byte // sock_diag replies
	text    []byte // /proc/net/tcp text, kept for the next fallback read
	last    int    // sockets in the previous read: the next result's capacity
	dropped int    // replies the kernel sent that were not wanted, last read
	// dump is dumpFamily; a test replaces it to make sock_diag refuse.
	dump func(family uint8, states uint32, port uint16, buf []byte, res *dumpResult) error
}

// NewReader returns a Reader for the listening port port.
func NewReader(port uint16) (*Reader, error) {
	if port == 0 {
		return nil, fmt.Errorf("sockdiag reader: port 0 is not a listening port; give the server's port")
	}
	return &Reader{port: port, dump: dumpFamily}, nil
}

// Read returns the ESTABLISHED sockets on the port from sock_diag or, when
// sock_diag is refused, from /proc/net/tcp and tcp6 with Note saying why.
func (r *Reader) Read() (Set, error) {
	s, err := r.ReadNetlink()
	if err == nil {
		return s, nil
	}
	if !Refused(err) {
		return Set{}, err
	}
	s, perr := r.ReadProc()
	if perr != nil {
		return Set{}, fmt.Errorf("%w; and the /proc fallback: %w", err, perr)
	}
	s.Note = "sock_diag refused (" + err.Error() + "): read /proc/net/tcp and tcp6, which have no socket cookie"
	return s, nil
}

// ReadNetlink reads the sockets from sock_diag only. It first dumps the
// port's listeners, AF_INET and AF_INET6 (cheap: the kernel walks only its
// listening hash), then the ESTABLISHED sockets of the families that have
// one, since an accepted socket has its listener's family. That second
// dump walks the kernel's whole established hash, every connection and
// TIME_WAIT socket of the network namespace, whatever the filter: its cost
// grows with the table, not with the port's share of it, and the listener
// dumps spare one walk in the usual case of one family. With no listener
// on the port both families are dumped.
func (r *Reader) ReadNetlink() (Set, error) {
	if r.recv == nil {
		r.recv = make([]byte, recvBufferBytes)
	}
	res := dumpResult{socks: make([]Sock, 0, r.last)}
	families := []uint8{unix.AF_INET, unix.AF_INET6}
	for _, fam := range families {
		if err := r.dump(fam, 1<<stateListen, r.port, r.recv, &res); err != nil {
			return Set{}, fmt.Errorf("read listeners on port %d: %w", r.port, err)
		}
	}
	if len(res.listeners) > 0 {
		families = families[:0]
		for _, l := range res.listeners {
			fam := uint8(unix.AF_INET6)
			if l.Addr.Addr().Is4() {
				fam = unix.AF_INET
			}
			if !slices.Contains(families, fam) {
				families = append(families, fam)
			}
		}
	}
	for _, fam := range families {
		if err := r.dump(fam, 1<<stateEstablished, r.port, r.recv, &res); err != nil {
			return Set{}, fmt.Errorf("read ESTABLISHED sockets on port %d: %w", r.port, err)
		}
	}
	r.last, r.dropped = len(res.socks), res.dropped
	return Set{Port: r.port, Source: SourceNetlink, Socks: res.socks, Listeners: res.listeners}, nil
}

// ReadProc reads the sockets from /proc/net/tcp and /proc/net/tcp6 only.
// The kernel formats a line for every socket of the namespace, so this
// costs more than sock_diag at the same table size. It is no snapshot
// either: the kernel hands out about 4 KiB per read(2) and resumes at a
// bucket and an offset into its chain, so when other sockets come and go
// (TIME_WAIT churn from any process) a line can be repeated or skipped.
// Repeats are removed and counted in Duplicates; a skipped socket makes
// the count low, so a population proof fails rather than passes on it. A
// missing tcp6 (IPv6 disabled) is no error.
func (r *Reader) ReadProc() (Set, error) {
	s := Set{Port: r.port, Source: SourceProc, Socks: make([]Sock, 0, r.last)}
	for _, name := range procNetFiles {
		var err error
		r.text, err = readAll(name, r.text[:0])
		if errors.Is(err, os.ErrNotExist) && name != procNetFiles[0] {
			continue
		}
		if err != nil {
			return Set{}, fmt.Errorf("read ESTABLISHED sockets on port %d: %w", r.port, err)
		}
		if err = ParseProcNetTCP(r.text, r.port, &s); err != nil {
			return Set{}, fmt.Errorf("read ESTABLISHED sockets on port %d from %s: %w", r.port, name, err)
		}
	}
	s.Socks, s.Duplicates = dedupe(s.Socks)
	r.last = len(s.Socks)
	return s, nil
}

// readAll reads a /proc file (whose size stat does not know) into buf,
// growing it: large reads, because each read of a seq_file walks on from
// where the last one stopped.
func readAll(name string, buf []byte) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return buf, err
	}
	defer f.Close()
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, make([]byte, max(cap(buf), 256<<10))...)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, fmt.Errorf("read %s: %w", name, err)
		}
	}
}

// Established reads the ESTABLISHED sockets on port once, as Reader.Read
// does. A caller reading at every window edge should keep a Reader.
func Established(port uint16) (Set, error) {
	r, err := NewReader(port)
	if err != nil {
		return Set{}, err
	}
	return r.Read()
}
