package sockdiag

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// The parts of linux/inet_diag.h this package uses; golang.org/x/sys/unix
// has the netlink constants but not inet_diag's structures.
const (
	sizeofNlmsghdr    = unix.SizeofNlMsghdr // 16
	sizeofSockID      = 48                  // struct inet_diag_sockid
	sizeofReqV2       = 8 + sizeofSockID    // struct inet_diag_req_v2
	sizeofDiagMsg     = 4 + sizeofSockID + 20
	sizeofNlattr      = unix.SizeofNlAttr
	sizeofBcOp        = 4 // struct inet_diag_bc_op
	inetDiagBytecode  = 1 // INET_DIAG_REQ_BYTECODE
	bcSourceGE        = 2 // INET_DIAG_BC_S_GE
	bcSourceLE        = 3 // INET_DIAG_BC_S_LE
	bytecodeLen       = 4 * sizeofBcOp
	requestLen        = sizeofNlmsghdr + sizeofReqV2 + sizeofNlattr + bytecodeLen
	stateEstablished  = 1  // TCP_ESTABLISHED
	stateListen       = 10 // TCP_LISTEN
	recvBufferBytes   = 64 << 10
	dumpReplyDeadline = 10 // seconds a dump may take before the read gives up
)

// request builds the SOCK_DIAG_BY_FAMILY dump request for family's TCP
// sockets in states (a mask of 1<<TCP_state) with local port port. The
// port is filtered twice in the kernel: by the socket id's sport, which the
// dump loop compares before it takes a reference, and by a bytecode program
// "sport >= port, then sport <= port" whose failing jumps land past its end
// (the kernel's reject). S_GE and S_LE are used rather than S_EQ because
// every kernel with inet_diag bytecode has them.
func request(family uint8, states uint32, port uint16, seq uint32) []byte {
	b := make([]byte, requestLen)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], requestLen)
	ne.PutUint16(b[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(b[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(b[8:], seq)
	r := b[sizeofNlmsghdr:]
	r[0] = family
	r[1] = unix.IPPROTO_TCP
	ne.PutUint32(r[4:], states)
	binary.BigEndian.PutUint16(r[8:], port) // id.idiag_sport
	ne.PutUint32(r[8+40:], ^uint32(0))      // id.idiag_cookie: INET_DIAG_NOCOOKIE
	ne.PutUint32(r[8+44:], ^uint32(0))
	a := r[sizeofReqV2:]
	ne.PutUint16(a[0:], sizeofNlattr+bytecodeLen)
	ne.PutUint16(a[2:], inetDiagBytecode)
	bc := a[sizeofNlattr:]
	// op {code, yes, no} then op {0, 0, port}: yes is the op's length, no
	// jumps to len+4, past the end, which rejects.
	bc[0], bc[1] = bcSourceGE, 2*sizeofBcOp
	ne.PutUint16(bc[2:], bytecodeLen+4)
	ne.PutUint16(bc[6:], port)
	bc[8], bc[9] = bcSourceLE, 2*sizeofBcOp
	ne.PutUint16(bc[10:], 2*sizeofBcOp+4)
	ne.PutUint16(bc[14:], port)
	return b
}

// dumpResult gathers the replies of one or more dumps.
type dumpResult struct {
	socks     []Sock
	listeners []Listener
	// dropped counts replies that were not in the states asked for or
	// not on the port: none when the kernel's filter did its work.
	dropped int
}

// parseDump adds to res the sockets in one buffer of dump replies: those
// ESTABLISHED to socks, those LISTENing to listeners, when their state is
// in states and their local port is port (checked again here, so a kernel
// that ignored the filter cannot widen the set). done is true at
// NLMSG_DONE. A netlink error reply is returned as the errno it carries
// (a unix.Errno, so errors.Is works); a reply cut short is an error.
// Replies with another sequence number (a previous dump's) are skipped.
func parseDump(b []byte, states uint32, port uint16, seq uint32, res *dumpResult) (done bool, err error) {
	ne := binary.NativeEndian
	for len(b) > 0 {
		if len(b) < sizeofNlmsghdr {
			return false, fmt.Errorf("sock_diag reply: %d bytes left, shorter than a netlink header", len(b))
		}
		n := int(ne.Uint32(b[0:]))
		typ := ne.Uint16(b[4:])
		if n < sizeofNlmsghdr || n > len(b) {
			return false, fmt.Errorf("sock_diag reply: message length %d with %d bytes left", n, len(b))
		}
		msg, body := b[:n], b[sizeofNlmsghdr:n]
		if adv := (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1); adv < len(b) {
			b = b[adv:]
		} else {
			b = nil
		}
		if ne.Uint32(msg[8:]) != seq {
			continue
		}
		switch typ {
		case unix.NLMSG_DONE:
			if len(body) >= 4 {
				if e := int32(ne.Uint32(body)); e < 0 {
					return true, unix.Errno(-e)
				}
			}
			return true, nil
		case unix.NLMSG_ERROR:
			if len(body) < 4 {
				return false, fmt.Errorf("sock_diag reply: error message of %d bytes", len(body))
			}
			if e := int32(ne.Uint32(body)); e < 0 {
				return false, unix.Errno(-e)
			}
			continue // an acknowledgement
		case unix.SOCK_DIAG_BY_FAMILY:
		default:
			continue
		}
		if len(body) < sizeofDiagMsg {
			return false, fmt.Errorf("sock_diag reply: inet_diag_msg of %d bytes, want %d", len(body), sizeofDiagMsg)
		}
		state := body[1]
		k, ok := diagSock(body)
		switch {
		case !ok || k.Local.Port() != port || state >= 32 || states&(1<<state) == 0:
			res.dropped++
		case state == stateEstablished:
			res.socks = append(res.socks, k)
		case state == stateListen:
			rq, wq := ne.Uint32(body[4+sizeofSockID+4:]), ne.Uint32(body[4+sizeofSockID+8:])
			res.listeners = append(res.listeners, Listener{Addr: k.Local, Cookie: k.Cookie, Inode: k.Inode, Queue: int(rq), Backlog: int(wq)})
		default:
			res.dropped++
		}
	}
	return false, nil
}

// diagSock decodes the addresses, cookie and inode of one struct
// inet_diag_msg; ok is false for a family other than AF_INET and AF_INET6.
func diagSock(m []byte) (Sock, bool) {
	id := m[4 : 4+sizeofSockID]
	var local, remote netip.Addr
	switch m[0] {
	case unix.AF_INET:
		local = netip.AddrFrom4([4]byte(id[4:8]))
		remote = netip.AddrFrom4([4]byte(id[20:24]))
	case unix.AF_INET6:
		local = netip.AddrFrom16([16]byte(id[4:20]))
		remote = netip.AddrFrom16([16]byte(id[20:36]))
	default:
		return Sock{}, false
	}
	ne := binary.NativeEndian
	return Sock{
		Local:  netip.AddrPortFrom(local, binary.BigEndian.Uint16(id[0:])),
		Remote: netip.AddrPortFrom(remote, binary.BigEndian.Uint16(id[2:])),
		Cookie: uint64(ne.Uint32(id[40:])) | uint64(ne.Uint32(id[44:]))<<32,
		Inode:  uint64(ne.Uint32(m[4+sizeofSockID+16:])),
	}, true
}

// requestSeq is the sequence number of every request: each is sent on a
// socket of its own, so any other number is not ours.
const requestSeq = 1

// dumpFamily asks the kernel for family's sockets in states on port and
// adds them to res, reading replies into buf.
func dumpFamily(family uint8, states uint32, port uint16, buf []byte, res *dumpResult) error {
	return dump(request(family, states, port, requestSeq), family, states, port, buf, res)
}

// dump sends req and adds its replies to res (a test sends requests with
// one of the two port filters taken out).
func dump(req []byte, family uint8, states uint32, port uint16, buf []byte, res *dumpResult) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return fmt.Errorf("open NETLINK_SOCK_DIAG socket: %w", err)
	}
	defer unix.Close(fd)
	tv := unix.Timeval{Sec: dumpReplyDeadline}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("set sock_diag receive timeout: %w", err)
	}
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("send sock_diag request: %w", err)
	}
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("read sock_diag replies: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("read sock_diag replies: socket closed before the dump ended")
		}
		done, err := parseDump(buf[:n], states, port, requestSeq, res)
		if err != nil {
			return fmt.Errorf("sock_diag dump of family %d: %w", family, err)
		}
		if done {
			return nil
		}
	}
}
