package sockdiag

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestRequest(t *testing.T) {
	b := request(unix.AF_INET6, 1<<1, 0x1F90, 7)
	ne := binary.NativeEndian
	if len(b) != 92 || ne.Uint32(b) != 92 {
		t.Fatalf("request length %d, header says %d; want 92 (16 header + 56 inet_diag_req_v2 + 4 nlattr + 16 bytecode)", len(b), ne.Uint32(b))
	}
	if ne.Uint16(b[4:]) != unix.SOCK_DIAG_BY_FAMILY || ne.Uint16(b[6:]) != unix.NLM_F_REQUEST|unix.NLM_F_DUMP || ne.Uint32(b[8:]) != 7 {
		t.Errorf("header type %d flags %#x seq %d; want SOCK_DIAG_BY_FAMILY, REQUEST|DUMP, 7", ne.Uint16(b[4:]), ne.Uint16(b[6:]), ne.Uint32(b[8:]))
	}
	r := b[16:]
	if r[0] != unix.AF_INET6 || r[1] != unix.IPPROTO_TCP || ne.Uint32(r[4:]) != 1<<1 {
		t.Errorf("family %d protocol %d states %#x; want AF_INET6, TCP, 1<<TCP_ESTABLISHED", r[0], r[1], ne.Uint32(r[4:]))
	}
	if r[8] != 0x1F || r[9] != 0x90 {
		t.Errorf("id.idiag_sport bytes %x; want the port big-endian, 1f90", r[8:10])
	}
	// The bytecode, as ss would write "sport >= 8080 and sport <= 8080".
	a := r[56:]
	if ne.Uint16(a) != 20 || ne.Uint16(a[2:]) != 1 {
		t.Errorf("attribute length %d type %d; want 20, INET_DIAG_REQ_BYTECODE", ne.Uint16(a), ne.Uint16(a[2:]))
	}
	want := []struct {
		code, yes byte
		no        uint16
	}{{2, 8, 20}, {0, 0, 0x1F90}, {3, 8, 12}, {0, 0, 0x1F90}}
	for i, w := range want {
		op := a[4+4*i:]
		if op[0] != w.code || op[1] != w.yes || ne.Uint16(op[2:]) != w.no {
			t.Errorf("bytecode op %d = {%d %d %d}; want {%d %d %d}", i, op[0], op[1], ne.Uint16(op[2:]), w.code, w.yes, w.no)
		}
	}
}

// diagReply encodes one SOCK_DIAG_BY_FAMILY reply as the kernel does: an
// inet_diag_msg followed by an attribute (INET_DIAG_SHUTDOWN) to skip.
func diagReply(seq uint32, family, state uint8, k Sock) []byte {
	return diagReplyQueue(seq, family, state, k, 0, 0)
}

// diagReplyQueue is diagReply with idiag_rqueue and idiag_wqueue, which
// for a listener are its accept queue's length and limit.
func diagReplyQueue(seq uint32, family, state uint8, k Sock, rq, wq uint32) []byte {
	ne := binary.NativeEndian
	m := make([]byte, 16+72+8)
	ne.PutUint32(m, uint32(len(m)))
	ne.PutUint16(m[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint32(m[8:], seq)
	d := m[16:]
	d[0], d[1] = family, state
	id := d[4:]
	binary.BigEndian.PutUint16(id, k.Local.Port())
	binary.BigEndian.PutUint16(id[2:], k.Remote.Port())
	l, r := k.Local.Addr().As16(), k.Remote.Addr().As16()
	if family == unix.AF_INET {
		l4, r4 := k.Local.Addr().As4(), k.Remote.Addr().As4()
		copy(l[:], l4[:])
		copy(r[:], r4[:])
	}
	copy(id[4:], l[:])
	copy(id[20:], r[:])
	ne.PutUint32(id[40:], uint32(k.Cookie))
	ne.PutUint32(id[44:], uint32(k.Cookie>>32))
	ne.PutUint32(d[56:], rq)
	ne.PutUint32(d[60:], wq)
	ne.PutUint32(d[68:], uint32(k.Inode))
	ne.PutUint16(d[72:], 5)
	ne.PutUint16(d[74:], 8) // INET_DIAG_SHUTDOWN
	return m
}

func control(seq uint32, typ uint16, errno int32) []byte {
	ne := binary.NativeEndian
	m := make([]byte, 20)
	ne.PutUint32(m, 20)
	ne.PutUint16(m[4:], typ)
	ne.PutUint32(m[8:], seq)
	ne.PutUint32(m[16:], uint32(errno))
	return m
}

func TestParseDump(t *testing.T) {
	k4 := sock("127.0.0.1:8080", "127.0.0.2:40000", 1<<40|7, 123)
	k6 := sock("[::ffff:127.0.0.1]:8080", "[::1]:40001", 8, 0)
	client := sock("127.0.0.2:40000", "127.0.0.1:8080", 9, 124)
	lsn := sock("[::]:8080", "[::]:0", 10, 125)
	const est, listen = 1 << 1, 1 << 10
	var buf []byte
	buf = append(buf, diagReply(1, unix.AF_INET, 1, k4)...)
	buf = append(buf, diagReply(1, unix.AF_INET, 1, client)...) // another port: dropped
	buf = append(buf, diagReply(1, unix.AF_INET, 8, k4)...)     // CLOSE_WAIT: dropped
	buf = append(buf, diagReply(2, unix.AF_INET, 1, client)...) // another dump's: skipped, not counted
	buf = append(buf, diagReply(1, unix.AF_INET6, 1, k6)...)
	buf = append(buf, diagReplyQueue(1, unix.AF_INET6, 10, lsn, 3, 4096)...)
	var res dumpResult
	done, err := parseDump(buf, est|listen, 8080, 1, &res)
	wantL := []Listener{{Addr: lsn.Local, Cookie: 10, Inode: 125, Queue: 3, Backlog: 4096}}
	if err != nil || done || res.dropped != 2 || !slices.Equal(res.socks, []Sock{k4, k6}) || !slices.Equal(res.listeners, wantL) {
		t.Errorf("parseDump = %+v, done %v, %v; want [%v %v], listeners %v, 2 dropped, false, nil", res, done, err, k4, k6, wantL)
	}
	res = dumpResult{}
	if _, err := parseDump(buf, est, 8080, 1, &res); err != nil || res.dropped != 3 || len(res.listeners) != 0 {
		t.Errorf("parseDump(ESTABLISHED only) = %+v, %v; want the listener dropped too", res, err)
	}
	if done, err := parseDump(control(1, unix.NLMSG_DONE, 0), est, 8080, 1, &res); !done || err != nil {
		t.Errorf("parseDump(NLMSG_DONE) = done %v, %v; want true, nil", done, err)
	}
	if _, err := parseDump(control(1, unix.NLMSG_ERROR, -int32(unix.EPERM)), est, 8080, 1, &res); !errors.Is(err, unix.EPERM) || !Refused(err) {
		t.Errorf("parseDump(NLMSG_ERROR EPERM) = %v; want EPERM, a refusal", err)
	}
	if done, err := parseDump(control(1, unix.NLMSG_DONE, -int32(unix.EINVAL)), est, 8080, 1, &res); !done || !errors.Is(err, unix.EINVAL) {
		t.Errorf("parseDump(NLMSG_DONE EINVAL) = %v, %v; want done, EINVAL", done, err)
	}
	for _, bad := range [][]byte{buf[:10], buf[:50], append(control(1, unix.SOCK_DIAG_BY_FAMILY, 0), 0, 0, 0, 0)} {
		if _, err := parseDump(bad, est, 8080, 1, &res); err == nil || Refused(err) {
			t.Errorf("parseDump(%d bytes cut short) = %v; want an error that is not a refusal", len(bad), err)
		}
	}
	if _, ok := diagSock(diagReply(1, 99, 1, k4)[16:]); ok {
		t.Error("diagSock of family 99: got ok; want an unknown family dropped")
	}
}

func FuzzParseDump(f *testing.F) {
	k := Sock{Local: netip.MustParseAddrPort("127.0.0.1:8080"), Remote: netip.MustParseAddrPort("127.0.0.1:40000"), Cookie: 5, Inode: 6}
	f.Add(append(diagReply(1, unix.AF_INET, 1, k), control(1, unix.NLMSG_DONE, 0)...))
	f.Add(diagReplyQueue(1, unix.AF_INET, 10, k, 1, 2))
	f.Add(control(1, unix.NLMSG_ERROR, -1))
	f.Fuzz(func(t *testing.T, b []byte) {
		var res dumpResult
		parseDump(b, 1<<1|1<<10, 8080, 1, &res)
		if n := len(res.socks) + len(res.listeners) + res.dropped; n > len(b)/(16+72) {
			t.Fatalf("%d replies from %d bytes", n, len(b))
		}
		for _, s := range res.socks {
			if s.Local.Port() != 8080 {
				t.Fatalf("socket %+v not on port 8080", s)
			}
		}
		for _, l := range res.listeners {
			if l.Addr.Port() != 8080 || l.Queue < 0 {
				t.Fatalf("listener %+v: want port 8080 and a queue >= 0", l)
			}
		}
	})
}
