package loadgen

import (
	"fmt"
	"net/netip"
	"strings"
)

// autoFillNum/autoFillDen is how full automatic spreading lets one source
// address's port range get. Far below full: the kernel's port search at
// connect() slows down as a range fills (19,000 connections from one
// address took 6 s here, from ten 0.46 s), and sockets left in TIME_WAIT
// by an earlier run need room. Extra loopback addresses cost nothing.
const autoFillNum, autoFillDen = 1, 16

// LoopbackSources returns n loopback source addresses: 127.0.0.1 …
// 127.0.0.250, then 127.0.1.1 … and so on. Every address in 127.0.0.0/8 is
// local on Linux, so no configuration is needed to bind them.
func LoopbackSources(n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = netip.AddrFrom4([4]byte{127, byte(i / 250 / 256), byte(i / 250 % 256), byte(1 + i%250)})
	}
	return out
}

// planSources returns the source addresses connections are spread over
// (round-robin): the given ones, or for a loopback IPv4 target as many
// 127.0.0.x addresses as conns needs with ports local ports per address,
// or nil (the kernel picks the source) otherwise.
//
// An IPv6 loopback target gets nil too: IPv6 has one loopback address,
// ::1 (not a /8 like IPv4), so there is nothing to spread over and the
// kernel's choice is ::1 itself. All its connections then share one
// address's port range, which checkLimits counts as one source.
func planSources(target netip.Addr, conns int, given []netip.Addr, ports int) []netip.Addr {
	if given != nil {
		return given
	}
	if !target.Is4() || !target.IsLoopback() {
		return nil
	}
	per := max(1, ports*autoFillNum/autoFillDen)
	n := max(1, (conns+per-1)/per)
	return LoopbackSources(n)
}

// ParseSourceIPs parses a comma-separated list of addresses or inclusive
// IPv4 ranges ("127.0.0.1-127.0.0.4"), as the -source-ips flag takes it.
func ParseSourceIPs(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := netip.ParseAddr(strings.TrimSpace(lo))
		if err != nil {
			return nil, fmt.Errorf("source address %q is not an IP address (want e.g. 127.0.0.1 or 127.0.0.1-127.0.0.8)", lo)
		}
		if !isRange {
			out = append(out, a.Unmap())
			continue
		}
		b, err := netip.ParseAddr(strings.TrimSpace(hi))
		if err != nil || !a.Is4() || !b.Is4() || b.Less(a) {
			return nil, fmt.Errorf("source address range %q: want first-last IPv4 addresses in ascending order, e.g. 127.0.0.1-127.0.0.8", part)
		}
		for x := a; ; x = x.Next() {
			out = append(out, x)
			if len(out) > 1<<16 {
				return nil, fmt.Errorf("source address list %q names more than %d addresses", s, 1<<16)
			}
			if x == b {
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("source address list %q is empty", s)
	}
	return out, nil
}

// intersect returns the ports in both r and o (o zero = no restriction),
// as the kernel applies IP_LOCAL_PORT_RANGE within the system range.
func (r PortRange) intersect(o PortRange) PortRange {
	if o.IsZero() {
		return r
	}
	return PortRange{max(r.Lo, o.Lo), min(r.Hi, o.Hi)}
}
