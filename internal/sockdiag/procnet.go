package sockdiag

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
)

// The TCP states as /proc/net/tcp prints them (%02X).
const (
	procStateEstablished = "01"
	procStateListen      = "0A"
)

// ParseProcNetTCP adds to dst.Socks the ESTABLISHED sockets, and to
// dst.Listeners the listening sockets, whose local port is port, from the
// text of /proc/net/tcp or /proc/net/tcp6. Each line is
//
//	sl: local:port remote:port st tx:rx tr:when retrnsmt uid timeout inode ...
//
// with addresses printed as 32-bit words in the kernel's byte order, which
// is this machine's; a listener's rx is its accept queue's length. The
// header line is skipped; a line that is not the kernel's format is an
// error naming it. Lines are skipped by state and port before their
// addresses are decoded, so the many sockets that are not the server's
// (the client ends on loopback, TIME_WAIT) cost a few byte compares.
func ParseProcNetTCP(text []byte, port uint16, dst *Set) error {
	return parseProcNet(text, port, binary.NativeEndian, dst)
}

func parseProcNet(text []byte, port uint16, order binary.ByteOrder, dst *Set) error {
	var portHex [4]byte
	hexPort(&portHex, port)
	// The order is asked once, here: a call through the interface per
	// word would move each address's bytes to the heap.
	var probe [2]byte
	order.PutUint16(probe[:], 1)
	little := probe[0] == 1
	for lineNo := 1; len(text) > 0; lineNo++ {
		line := text
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = nil
		}
		var f [10][]byte
		n := fields(line, f[:])
		if n == 0 {
			continue
		}
		if lineNo == 1 && string(f[0]) == "sl" {
			continue
		}
		if n < len(f) || f[0][len(f[0])-1] != ':' {
			return fmt.Errorf("/proc/net/tcp line %d %q: want sl: local remote st tx:rx tr:when retrnsmt uid timeout inode", lineNo, line)
		}
		local, st := f[1], f[3]
		listen := string(st) == procStateListen
		if (!listen && string(st) != procStateEstablished) || len(local) < 5 || string(local[len(local)-4:]) != string(portHex[:]) {
			continue
		}
		l, err1 := parseHexAddrPort(local, little)
		r, err2 := parseHexAddrPort(f[2], little)
		inode, err3 := strconv.ParseUint(string(f[9]), 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return fmt.Errorf("/proc/net/tcp line %d %q: addresses must be HEX:PORT and the inode a number", lineNo, line)
		}
		if !listen {
			dst.Socks = append(dst.Socks, Sock{Local: l, Remote: r, Inode: inode})
			continue
		}
		_, rx, ok := bytes.Cut(f[4], []byte(":"))
		queue, okq := parseHex(rx)
		if !ok || !okq {
			return fmt.Errorf("/proc/net/tcp line %d %q: want tx_queue:rx_queue in hex", lineNo, line)
		}
		dst.Listeners = append(dst.Listeners, Listener{Addr: l, Inode: inode, Queue: int(queue)})
	}
	return nil
}

// hexPort writes port as /proc/net/tcp prints it: %04X.
func hexPort(dst *[4]byte, port uint16) {
	const digits = "0123456789ABCDEF"
	for i := 3; i >= 0; i-- {
		dst[i] = digits[port&0xf]
		port >>= 4
	}
}

// fields splits line on spaces into f, returning how many it filled (at
// most len(f)); it allocates nothing.
func fields(line []byte, f [][]byte) int {
	n := 0
	for i := 0; i < len(line) && n < len(f); {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		if j > i {
			f[n] = line[i:j]
			n++
		}
		i = j
	}
	return n
}

// parseHexAddrPort decodes "0100007F:1F90" (IPv4) or 32 hex digits then
// ":PORT" (IPv6): the address as 32-bit words, each printed with %08X from
// the kernel's memory, so each word's bytes are in the machine's order
// (little-endian or not).
func parseHexAddrPort(b []byte, little bool) (netip.AddrPort, error) {
	colon := len(b) - 5
	if colon < 0 || b[colon] != ':' {
		return netip.AddrPort{}, fmt.Errorf("address %q: want HEX:PORT", b)
	}
	p, ok := parseHex(b[colon+1:])
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("address %q: port is not 4 hex digits", b)
	}
	hex := b[:colon]
	if len(hex) != 8 && len(hex) != 32 {
		return netip.AddrPort{}, fmt.Errorf("address %q: want 8 or 32 hex digits", b)
	}
	var raw [16]byte
	for w := 0; w < len(hex)/8; w++ {
		v, ok := parseHex(hex[w*8 : w*8+8])
		if !ok {
			return netip.AddrPort{}, fmt.Errorf("address %q: not hex", b)
		}
		if little {
			binary.LittleEndian.PutUint32(raw[w*4:], v)
		} else {
			binary.BigEndian.PutUint32(raw[w*4:], v)
		}
	}
	if len(hex) == 8 {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(raw[:4])), uint16(p)), nil
	}
	return netip.AddrPortFrom(netip.AddrFrom16(raw), uint16(p)), nil
}

// parseHex decodes 1 to 8 upper- or lower-case hex digits without the
// allocation strconv's string argument would cost per line.
func parseHex(b []byte) (uint32, bool) {
	if len(b) == 0 || len(b) > 8 {
		return 0, false
	}
	var v uint32
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint32(c)
	}
	return v, true
}
