package sockdiag

import (
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// waitFor reads with read until ok accepts the set, or fails the test
// after a bound: the kernel completes the server's end of a loopback
// connection a moment after the client's connect returns.
func waitFor(t *testing.T, what string, read func() (Set, error), ok func(Set) bool) Set {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := read()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %d established (%d accepted) after 20s: %v", what, s.Established(), s.Accepted(), s.Socks)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func counts(est, acc int) func(Set) bool {
	return func(s Set) bool { return s.Established() == est && s.Accepted() == acc }
}

func inode(t *testing.T, c net.Conn) uint64 {
	t.Helper()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Fstat(int(fd), &st) }); err != nil || serr != nil {
		t.Fatalf("fstat: %v %v", err, serr)
	}
	return st.Ino
}

// byRemote finds the socket whose remote end is addr.
func byRemote(s Set, addr net.Addr) (Sock, bool) {
	want := addr.(*net.TCPAddr).AddrPort()
	for _, k := range s.Socks {
		if k.Remote == want {
			return k, true
		}
	}
	return Sock{}, false
}

// withoutCookies is the set as /proc shows it, sorted, to compare sources.
func withoutCookies(s Set) []Sock {
	out := make([]Sock, len(s.Socks))
	for i, k := range s.Socks {
		k.Cookie = 0
		out[i] = k
	}
	slices.SortFunc(out, func(a, b Sock) int { return a.Remote.Compare(b.Remote) })
	return out
}

func TestLoopback(t *testing.T) {
	for _, tt := range []struct{ network, addr string }{{"tcp4", "127.0.0.1:0"}, {"tcp6", "[::1]:0"}} {
		t.Run(tt.network, func(t *testing.T) { testLoopback(t, tt.network, tt.addr) })
	}
}

func testLoopback(t *testing.T, network, addr string) {
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("listen %s %s: %v", network, addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	laddr := ln.Addr().(*net.TCPAddr).AddrPort()
	port := laddr.Port()
	r, err := NewReader(port)
	if err != nil {
		t.Fatal(err)
	}

	const dialed, accepted = 6, 4 // two left in the accept queue
	var clients, servers []net.Conn
	dial := func() net.Conn {
		c, err := net.DialTimeout(network, ln.Addr().String(), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		clients = append(clients, c)
		return c
	}
	accept := func() net.Conn {
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		servers = append(servers, c)
		return c
	}
	for range dialed {
		dial()
	}
	for range accepted {
		accept()
	}
	start := waitFor(t, "sock_diag after dialling", r.ReadNetlink, counts(dialed, accepted))

	if start.Source != SourceNetlink || start.Note != "" || start.Port != port || start.Queued() != dialed-accepted {
		t.Errorf("set source %q note %q port %d queued %d; want sock_diag, no note, port %d, %d queued", start.Source, start.Note, start.Port, start.Queued(), port, dialed-accepted)
	}
	if r.dropped != 0 {
		t.Errorf("the kernel sent %d replies that were not ESTABLISHED on port %d; want its filter to keep them (the client ends are in the table)", r.dropped, port)
	}
	if len(start.Listeners) != 1 || start.Listeners[0].Addr != laddr || start.Listeners[0].Queue != start.Queued() || start.Listeners[0].Backlog <= 0 {
		t.Errorf("listeners %+v; want one on %v with its accept queue %d and a backlog", start.Listeners, laddr, start.Queued())
	}
	cookies := map[uint64]bool{}
	for _, k := range start.Socks {
		if k.Local != laddr || k.Cookie == 0 || cookies[k.Cookie] {
			t.Errorf("socket %+v: want local %v and a cookie of its own", k, laddr)
		}
		cookies[k.Cookie] = true
	}
	for _, c := range clients {
		if _, ok := byRemote(start, c.LocalAddr()); !ok {
			t.Errorf("client %v: no socket on the server side", c.LocalAddr())
		}
	}
	for _, c := range servers {
		k, ok := byRemote(start, c.RemoteAddr())
		if want := inode(t, c); !ok || k.Inode != want {
			t.Errorf("accepted connection from %v: socket %+v; want inode %d", c.RemoteAddr(), k, want)
		}
	}

	// Each of the two kernel-side port filters works alone: with the
	// socket id's sport zeroed, or with the bytecode attribute cut off,
	// the kernel still sends only the server's ends.
	fam := uint8(unix.AF_INET)
	if laddr.Addr().Is6() {
		fam = unix.AF_INET6
	}
	noSport := request(fam, 1<<stateEstablished, port, requestSeq)
	noSport[sizeofNlmsghdr+8], noSport[sizeofNlmsghdr+9] = 0, 0
	noBytecode := request(fam, 1<<stateEstablished, port, requestSeq)[:sizeofNlmsghdr+sizeofReqV2]
	binary.NativeEndian.PutUint32(noBytecode, uint32(len(noBytecode)))
	for name, req := range map[string][]byte{"bytecode alone": noSport, "socket id alone": noBytecode} {
		var res dumpResult
		if err := dump(req, fam, 1<<stateEstablished, port, make([]byte, recvBufferBytes), &res); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.dropped != 0 || len(res.socks) != dialed {
			t.Errorf("%s: %d sockets, %d dropped; want %d, none dropped", name, len(res.socks), res.dropped, dialed)
		}
	}

	// /proc shows the same sockets (without cookies).
	proc, err := r.ReadProc()
	if err != nil {
		t.Fatal(err)
	}
	if len(proc.Listeners) != 1 || proc.Listeners[0].Inode != start.Listeners[0].Inode || proc.Listeners[0].Queue != start.Listeners[0].Queue {
		t.Errorf("/proc listeners %+v; want %+v without cookie and backlog", proc.Listeners, start.Listeners)
	}
	if proc.Source != SourceProc || !slices.Equal(withoutCookies(proc), withoutCookies(start)) {
		t.Errorf("/proc (%s) = %v\nsock_diag = %v; want the same sockets", proc.Source, withoutCookies(proc), withoutCookies(start))
	}
	held, err := SocketInodes(unix.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if foreign := start.NotHeldBy(held); len(foreign) != 0 {
		t.Errorf("NotHeldBy(this process's sockets) = %v; want none: this process accepted them", foreign)
	}
	if len(held) < len(clients)+len(servers)+1 {
		t.Errorf("SocketInodes(self) found %d sockets; want at least %d", len(held), len(clients)+len(servers)+1)
	}

	// Inside a "window": one more connection, one queued one accepted,
	// one accepted one closed by its client.
	late := dial()
	nowAccepted := accept()
	clients[0].Close()
	end := waitFor(t, "sock_diag after the window's changes", r.ReadNetlink, counts(dialed, accepted)) // +1 late, -1 closed; +1 accepted, -1 closed
	d, err := Compare(start, end)
	if err != nil {
		t.Fatal(err)
	}
	lateSock, _ := byRemote(end, late.LocalAddr())
	if !slices.Equal(d.New, []Sock{lateSock}) || lateSock.Inode != 0 {
		t.Errorf("new = %v; want the one late connection, queued (%+v)", d.New, lateSock)
	}
	if len(d.Gone) != 1 || d.Gone[0].Remote != clients[0].LocalAddr().(*net.TCPAddr).AddrPort() {
		t.Errorf("gone = %v; want the connection from %v", d.Gone, clients[0].LocalAddr())
	}
	if len(d.AcceptedInside) != 1 || d.AcceptedInside[0].Remote != nowAccepted.RemoteAddr().(*net.TCPAddr).AddrPort() || d.AcceptedInside[0].Inode != inode(t, nowAccepted) {
		t.Errorf("accepted inside = %v; want the connection from %v with inode %d", d.AcceptedInside, nowAccepted.RemoteAddr(), inode(t, nowAccepted))
	}
	if d.Accepts() != 1 || d.Stable() {
		t.Errorf("Accepts, Stable = %d, %v; want 1, false", d.Accepts(), d.Stable())
	}
	// The same window seen through /proc finds the same changes.
	procEnd, err := r.ReadProc()
	if err != nil {
		t.Fatal(err)
	}
	pd, err := Compare(proc, procEnd)
	if err != nil {
		t.Fatal(err)
	}
	if len(pd.New) != 1 || len(pd.Gone) != 1 || len(pd.AcceptedInside) != 1 {
		t.Errorf("/proc diff: new %v gone %v accepted inside %v; want one of each", pd.New, pd.Gone, pd.AcceptedInside)
	}
}

// TestFallback makes sock_diag refuse and checks the reader falls back to
// /proc and says so, while a failure that is not a refusal is returned.
func TestFallback(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	c, err := net.DialTimeout("tcp4", ln.Addr().String(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r, err := NewReader(ln.Addr().(*net.TCPAddr).AddrPort().Port())
	if err != nil {
		t.Fatal(err)
	}
	r.dump = func(uint8, uint32, uint16, []byte, *dumpResult) error { return unix.EPERM }
	s := waitFor(t, "fallback read", r.Read, counts(1, 0))
	if s.Source != SourceProc || s.Note == "" {
		t.Errorf("source %q note %q; want /proc with a note saying why", s.Source, s.Note)
	}
	want := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), r.port)
	if s.Socks[0].Local != want {
		t.Errorf("socket %+v; want local %v", s.Socks[0], want)
	}
	r.dump = func(uint8, uint32, uint16, []byte, *dumpResult) error { return unix.EIO }
	if _, err := r.Read(); err == nil {
		t.Error("Read with sock_diag failing on EIO: got nil error; want it returned, not hidden by the fallback")
	}
	if _, err := NewReader(0); err == nil {
		t.Error("NewReader(0): got nil error")
	}
}
