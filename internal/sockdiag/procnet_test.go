package sockdiag

import (
	"encoding/binary"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestParseProcNetTCP(t *testing.T) {
	tcp, err := os.ReadFile("testdata/tcp")
	if err != nil {
		t.Fatal(err)
	}
	tcp6, err := os.ReadFile("testdata/tcp6")
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort
	for _, tt := range []struct {
		name      string
		text      []byte
		port      uint16
		want      []Sock
		listeners []Listener
	}{
		{"tcp port 8080", tcp, 0x1F90, []Sock{
			// the client end (local port 9FD6) and the TIME_WAIT socket
			// (06) are not the server's connections
			{Local: ap("127.0.0.1:8080"), Remote: ap("127.0.0.2:40918"), Inode: 594259},
			{Local: ap("127.0.0.1:8080"), Remote: ap("127.0.0.1:40919")},
			{Local: ap("10.0.0.1:8080"), Remote: ap("10.0.0.2:57344"), Inode: 594261},
		}, []Listener{{Addr: ap("127.0.0.1:8080"), Inode: 594257, Queue: 1}}},
		{"tcp client port", tcp, 0x9FD6, []Sock{{Local: ap("127.0.0.2:40918"), Remote: ap("127.0.0.1:8080"), Inode: 594260}}, nil},
		{"tcp port with no sockets", tcp, 80, nil, nil},
		{"tcp6 port", tcp6, 0xB991, []Sock{
			{Local: ap("[::1]:47505"), Remote: ap("[::1]:49814")},
			{Local: ap("[::ffff:127.0.0.1]:47505"), Remote: ap("[::ffff:127.0.0.1]:51334"), Inode: 1225640},
		}, []Listener{{Addr: ap("[::]:47505"), Inode: 1225638, Queue: 1}}},
	} {
		var got Set
		err := parseProcNet(tt.text, tt.port, binary.LittleEndian, &got)
		if err != nil || !slices.Equal(got.Socks, tt.want) || !slices.Equal(got.Listeners, tt.listeners) {
			t.Errorf("%s: parseProcNet = %v %v, %v; want %v %v", tt.name, got.Socks, got.Listeners, err, tt.want, tt.listeners)
		}
	}
}

// TestParseProcNetTCPBigEndian reads a line as a big-endian kernel prints
// it: each address word's bytes in network order already.
func TestParseProcNetTCPBigEndian(t *testing.T) {
	text := "   0: 7F000001:1F90 7F000002:9FD6 01 00000000:00000000 00:00000000 00000000     0        0 77 1\n" +
		"   1: 20010DB8000000000000000000000001:1F90 20010DB8000000000000000000000002:9FD7 01 00000000:00000000 00:00000000 00000000     0        0 78 1\n"
	var got Set
	want := []Sock{
		{Local: netip.MustParseAddrPort("127.0.0.1:8080"), Remote: netip.MustParseAddrPort("127.0.0.2:40918"), Inode: 77},
		{Local: netip.MustParseAddrPort("[2001:db8::1]:8080"), Remote: netip.MustParseAddrPort("[2001:db8::2]:40919"), Inode: 78},
	}
	if err := parseProcNet([]byte(text), 0x1F90, binary.BigEndian, &got); err != nil || !slices.Equal(got.Socks, want) {
		t.Errorf("parseProcNet(big-endian) = %v, %v; want %v", got.Socks, err, want)
	}
}

func TestParseProcNetTCPErrors(t *testing.T) {
	for _, text := range []string{
		"   0: 0100007F:1F90 0200007F:9FD6 01 00000000:00000000\n",                                           // too few fields
		"   0 0100007F:1F90 0200007F:9FD6 01 00000000:00000000 00:00000000 00000000 0 0 5 1\n",               // no "sl:"
		"   0: 0100007F:1F90 02Z0007F:9FD6 01 00000000:00000000 00:00000000 00000000 0 0 5 1\n",              // bad remote
		"   0: 0100007F:1F90 0200007F:9FD6 01 00000000:00000000 00:00000000 00000000 0 0 x 1\n",              // bad inode
		"   0: 0100007F00:1F90 0200007F:9FD6 01 00000000:00000000 00:00000000 00000000 0 0 5 1\n",            // 10 hex digits
		"   0: 0100007F:1F90 00000000:0000 0A 00000000-00000000 00:00000000 00000000 0 0 5 1\n",              // listener queue
		"  sl  local_address\n   0: 0100007F:1F90 0200007F:9FD6 01 00000000:00000000 00:00000000 00000000\n", // short second line
	} {
		var got Set
		if err := parseProcNet([]byte(text), 0x1F90, binary.LittleEndian, &got); err == nil {
			t.Errorf("parseProcNet(%q) = %v, nil; want an error", text, got)
		}
	}
	var got Set
	if err := parseProcNet([]byte("\n\n"), 1, binary.LittleEndian, &got); err != nil || len(got.Socks) != 0 {
		t.Errorf("parseProcNet of blank lines = %v, %v; want nothing, nil", got, err)
	}
}

func FuzzParseProcNetTCP(f *testing.F) {
	for _, name := range []string{"testdata/tcp", "testdata/tcp6"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint16(0x1F90))
		f.Add(b, uint16(0xB991))
	}
	f.Fuzz(func(t *testing.T, text []byte, port uint16) {
		var got Set
		if err := ParseProcNetTCP(text, port, &got); err != nil {
			return
		}
		// Every socket returned must come from an ESTABLISHED or LISTEN
		// line on port.
		want := strings.Count(string(text), " 01 ") + strings.Count(string(text), " 0A ")
		if len(got.Socks)+len(got.Listeners) > want {
			t.Fatalf("%d sockets, %d listeners from text with %d ESTABLISHED- or LISTEN-looking fields", len(got.Socks), len(got.Listeners), want)
		}
		for _, k := range got.Socks {
			if k.Local.Port() != port || !k.Local.IsValid() || !k.Remote.IsValid() {
				t.Fatalf("socket %+v: want a valid local address on port %d", k, port)
			}
		}
		for _, l := range got.Listeners {
			if l.Addr.Port() != port || l.Queue < 0 {
				t.Fatalf("listener %+v: want port %d and a queue >= 0", l, port)
			}
		}
	})
}
