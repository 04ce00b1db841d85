package sockdiag

import (
	"net/netip"
	"slices"
	"testing"
)

func sock(local, remote string, cookie, inode uint64) Sock {
	return Sock{Local: netip.MustParseAddrPort(local), Remote: netip.MustParseAddrPort(remote), Cookie: cookie, Inode: inode}
}

func TestSetCounts(t *testing.T) {
	s := Set{Port: 80, Socks: []Sock{
		sock("127.0.0.1:80", "127.0.0.1:5000", 1, 11),
		sock("127.0.0.1:80", "127.0.0.1:5001", 2, 0),
		sock("127.0.0.1:80", "127.0.0.1:5002", 3, 13),
	}}
	if s.Established() != 3 || s.Accepted() != 2 || s.Queued() != 1 {
		t.Errorf("Established, Accepted, Queued = %d, %d, %d; want 3, 2, 1", s.Established(), s.Accepted(), s.Queued())
	}
	got := s.NotHeldBy(map[uint64]int{11: 100})
	if want := []Sock{s.Socks[2]}; !slices.Equal(got, want) {
		t.Errorf("NotHeldBy(inode 11) = %v; want %v (a queued socket is nobody's yet)", got, want)
	}
}

func TestCompare(t *testing.T) {
	a := sock("127.0.0.1:80", "127.0.0.1:5000", 1, 11)
	b := sock("127.0.0.1:80", "127.0.0.1:5001", 2, 12)
	queued := sock("127.0.0.1:80", "127.0.0.1:5002", 3, 0)
	accepted := queued
	accepted.Inode = 13
	reused := a // same addresses, a new connection
	reused.Cookie, reused.Inode = 9, 19
	c := sock("127.0.0.1:80", "127.0.0.1:5003", 4, 14)
	cQueued := sock("127.0.0.1:80", "127.0.0.1:5004", 5, 0)
	noCookie := func(k Sock) Sock { k.Cookie = 0; return k }

	for _, tt := range []struct {
		name                     string
		start, end               []Sock
		newS, gone, acceptedIn   []Sock
		accepts                  int
		stable                   bool
		startAcc, endEst, endAcc int
	}{
		{"unchanged", []Sock{a, b}, []Sock{b, a}, nil, nil, nil, 0, true, 2, 2, 2},
		{"one accepted inside", []Sock{a, queued}, []Sock{a, accepted}, nil, nil, []Sock{accepted}, 1, false, 1, 2, 2},
		{"one new and accepted, one new and queued", []Sock{a}, []Sock{a, c, cQueued}, []Sock{c, cQueued}, nil, nil, 1, false, 1, 3, 2},
		{"one gone", []Sock{a, b}, []Sock{b}, nil, []Sock{a}, nil, 0, false, 2, 1, 1},
		{"addresses reused: gone and new by cookie", []Sock{a, b}, []Sock{reused, b}, []Sock{reused}, []Sock{a}, nil, 1, false, 2, 2, 2},
		{"addresses reused, no cookies: gone and new by inode", []Sock{noCookie(a)}, []Sock{noCookie(reused)}, []Sock{noCookie(reused)}, []Sock{noCookie(a)}, nil, 1, false, 1, 1, 1},
		{"no cookies, accepted inside", []Sock{noCookie(queued)}, []Sock{noCookie(accepted)}, nil, nil, []Sock{noCookie(accepted)}, 1, false, 0, 1, 1},
		{"one edge from sock_diag, one from /proc", []Sock{a, b}, []Sock{noCookie(a), noCookie(b)}, nil, nil, nil, 0, true, 2, 2, 2},
		{"both empty", nil, nil, nil, nil, nil, 0, true, 0, 0, 0},
	} {
		d, err := Compare(Set{Port: 80, Socks: tt.start}, Set{Port: 80, Socks: tt.end})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !slices.Equal(d.New, tt.newS) || !slices.Equal(d.Gone, tt.gone) || !slices.Equal(d.AcceptedInside, tt.acceptedIn) {
			t.Errorf("%s: new %v, gone %v, accepted inside %v; want %v, %v, %v", tt.name, d.New, d.Gone, d.AcceptedInside, tt.newS, tt.gone, tt.acceptedIn)
		}
		if d.Accepts() != tt.accepts || d.Stable() != tt.stable {
			t.Errorf("%s: Accepts, Stable = %d, %v; want %d, %v", tt.name, d.Accepts(), d.Stable(), tt.accepts, tt.stable)
		}
		if d.StartEstablished != len(tt.start) || d.StartAccepted != tt.startAcc || d.EndEstablished != tt.endEst || d.EndAccepted != tt.endAcc {
			t.Errorf("%s: edges %d/%d -> %d/%d; want %d/%d -> %d/%d", tt.name, d.StartEstablished, d.StartAccepted, d.EndEstablished, d.EndAccepted, len(tt.start), tt.startAcc, tt.endEst, tt.endAcc)
		}
	}
	if _, err := Compare(Set{Port: 80}, Set{Port: 81}); err == nil {
		t.Error("Compare of ports 80 and 81: got nil error")
	}
}

func TestDedupe(t *testing.T) {
	a := sock("127.0.0.1:80", "127.0.0.1:5000", 0, 11)
	b := sock("127.0.0.1:80", "127.0.0.1:5001", 0, 0)
	got, n := dedupe([]Sock{a, b, a, b, a})
	if !slices.Equal(got, []Sock{a, b}) || n != 3 {
		t.Errorf("dedupe(a b a b a) = %v, %d; want [a b], 3", got, n)
	}
}

func TestParseSocketLink(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"socket:[12345]", 12345, true},
		{"socket:[]", 0, false},
		{"socket:[12a]", 0, false},
		{"socket:[1", 0, false},
		{"pipe:[12345]", 0, false},
		{"/dev/null", 0, false},
		{"anon_inode:[eventpoll]", 0, false},
		{"", 0, false},
	} {
		got, ok := ParseSocketLink(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseSocketLink(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseSocketLink(f *testing.F) {
	f.Add("socket:[12345]")
	f.Add("pipe:[1]")
	f.Fuzz(func(t *testing.T, s string) {
		if n, ok := ParseSocketLink(s); !ok && n != 0 {
			t.Fatalf("ParseSocketLink(%q) = %d, false; want 0 when not ok", s, n)
		}
	})
}
