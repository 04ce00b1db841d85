package loadgen

import (
	"slices"
	"testing"
	"time"
)

func TestPacerIntended(t *testing.T) {
	tests := []struct {
		name     string
		interval float64
		conns    int
		conn     int
		seq      uint64
		want     int64
	}{
		{"first request", 1000, 3, 0, 0, 0},
		{"first request of a later connection", 1000, 3, 2, 0, 2000},
		{"later request: conn + seq*conns", 1000, 3, 1, 2, 7000},
		{"one connection", 250, 1, 0, 9, 2250},
		{"fractional interval truncates", 2.5, 1, 0, 3, 7},
		{"1 Mreq/s over 4 conns", 1e9 / 1e6, 4, 3, 1000, 4_003_000},
		// Keep-alives: 10 idle conns, one each per second.
		{"keep-alive round", float64(time.Second) / 10, 10, 4, 2, int64(2*time.Second + 400*time.Millisecond)},
	}
	for _, tt := range tests {
		p := newPacer(tt.interval, tt.conns, 0, 0)
		if got := p.intended(tt.conn, tt.seq); got != tt.want {
			t.Errorf("%s: intended(%d, %d) = %d; want %d", tt.name, tt.conn, tt.seq, got, tt.want)
		}
	}
}

// taken is one request handed out by pacer.take.
type taken struct {
	conn int
	at   int64
}

func takeAll(p *pacer, now int64) []taken {
	var got []taken
	for {
		conn, at, ok := p.take(now)
		if !ok {
			return got
		}
		got = append(got, taken{conn, at})
	}
}

func TestPacerTake(t *testing.T) {
	type step struct {
		now      int64
		want     []taken // handed out at now, in order
		wantNext int64   // nextAt afterwards: the next wake-up
	}
	tests := []struct {
		name     string
		interval float64
		conns    int
		steps    []step
	}{
		{"on schedule", 100, 2, []step{
			{0, []taken{{0, 0}}, 100},
			{99, nil, 100},
			{100, []taken{{1, 100}}, 200}, // due exactly at its time
			{150, nil, 200},
			{200, []taken{{0, 200}}, 300},
		}},
		{"catch-up after a stall", 100, 3, []step{
			{0, []taken{{0, 0}}, 100},
			// Stalled for 450 ns: everything intended meanwhile is due at
			// once, each with its own intended time.
			{450, []taken{{1, 100}, {2, 200}, {0, 300}, {1, 400}}, 500},
			{450, nil, 500}, // the clock did not move: nothing more
			{500, []taken{{2, 500}}, 600},
		}},
		{"stall longer than a round", 10, 2, []step{
			{55, []taken{{0, 0}, {1, 10}, {0, 20}, {1, 30}, {0, 40}, {1, 50}}, 60},
		}},
		{"before the start", 100, 1, []step{
			{-1, nil, 0},
			{0, []taken{{0, 0}}, 100},
		}},
		{"fractional interval", 2.5, 2, []step{
			{4, []taken{{0, 0}, {1, 2}}, 5},
			{7, []taken{{0, 5}, {1, 7}}, 10},
		}},
	}
	for _, tt := range tests {
		p := newPacer(tt.interval, tt.conns, 0, 0)
		for i, s := range tt.steps {
			if got := takeAll(&p, s.now); !slices.Equal(got, s.want) {
				t.Errorf("%s: step %d: take(%d) = %v; want %v", tt.name, i, s.now, got, s.want)
			}
			if got := p.nextAt(); got != s.wantNext {
				t.Errorf("%s: step %d: nextAt() = %d; want %d", tt.name, i, got, s.wantNext)
			}
		}
	}
}

// TestPacerIntendedMatchesTake checks that the times take hands out are
// the ones intended recomputes per connection when an echo completes:
// latency counts from the same time the request was scheduled at.
func TestPacerIntendedMatchesTake(t *testing.T) {
	p := newPacer(1e9/3e5, 7, 0, 0)
	seqs := make([]uint64, 7)
	for _, r := range takeAll(&p, int64(time.Millisecond)) {
		if got := p.intended(r.conn, seqs[r.conn]); got != r.at {
			t.Fatalf("intended(%d, %d) = %d; want %d, as handed out", r.conn, seqs[r.conn], got, r.at)
		}
		seqs[r.conn]++
	}
}

func TestWindow(t *testing.T) {
	w := window{start: 100, end: 200}
	for _, tt := range []struct {
		t    int64
		want bool
	}{{0, false}, {99, false}, {100, true}, {199, true}, {200, false}, {300, false}} {
		if got := w.contains(tt.t); got != tt.want {
			t.Errorf("window [100, 200): contains(%d) = %v; want %v", tt.t, got, tt.want)
		}
	}
	for _, tt := range []struct{ now, want int64 }{{150, 150}, {199, 199}, {200, 199}, {1000, 199}} {
		if got := w.last(tt.now); got != tt.want {
			t.Errorf("window [100, 200): last(%d) = %d; want %d", tt.now, got, tt.want)
		}
	}
}

// TestPacerWindowCounts runs a schedule through a window the way the loop
// does: dispatch at each now, then at stop dispatch up to window.last.
// The window's requests are those intended in it, whenever the loop got
// to them; the drain holds every request intended before the window's
// end and none after.
func TestPacerWindowCounts(t *testing.T) {
	tests := []struct {
		name     string
		interval float64
		conns    int
		win      window
		nows     []int64 // the loop's wake-ups; the last one stops
		want     int64   // requests intended in the window
		wantHeld []uint64
	}{
		{"stop after the window", 10, 2, window{25, 65}, []int64{0, 20, 40, 80},
			4, []uint64{4, 3}}, // 30, 40, 50, 60 in the window; 0..60 held
		{"stop when a request after the window is due", 10, 2, window{25, 65}, []int64{0, 20, 70},
			4, []uint64{4, 3}}, // 70 is due but after the window: dropped
		{"stop in the window", 10, 2, window{25, 65}, []int64{0, 20, 45},
			2, []uint64{3, 2}}, // stopped early: nothing after now
		{"stall across the whole window", 10, 3, window{25, 65}, []int64{0, 500},
			4, []uint64{3, 2, 2}},
		{"one connection", 10, 1, window{0, 100}, []int64{0, 35, 100},
			10, []uint64{10}},
	}
	for _, tt := range tests {
		p := newPacer(tt.interval, tt.conns, 0, 0)
		var issued int64
		due, held := make([]uint64, tt.conns), make([]uint64, tt.conns)
		dispatch := func(now int64) {
			for {
				conn, at, ok := p.take(now)
				if !ok {
					return
				}
				due[conn]++
				if at < tt.win.end {
					held[conn] = due[conn]
					if tt.win.contains(at) {
						issued++
					}
				}
			}
		}
		last := len(tt.nows) - 1
		for _, now := range tt.nows[:last] {
			dispatch(now)
		}
		dispatch(tt.win.last(tt.nows[last]))
		if issued != tt.want {
			t.Errorf("%s: window requests = %d; want %d", tt.name, issued, tt.want)
		}
		if !slices.Equal(held, tt.wantHeld) {
			t.Errorf("%s: held for the drain per connection = %v; want %v", tt.name, held, tt.wantHeld)
		}
	}
}

func TestPacerSleep(t *testing.T) {
	tests := []struct {
		name     string
		spin     time.Duration
		now, due int64
		wantD    int64
		wantSpin bool
	}{
		{"no spin: sleep until due", 0, 1000, 5000, 4000, false},
		{"no spin: due already", 0, 6000, 5000, 0, false},
		{"sleep until the spin window", 60, 1000, 5000, 3940, false},
		{"at the spin window's start: poll", 60, 4940, 5000, 0, true},
		{"inside the spin window: poll", 60, 4990, 5000, 0, true},
		{"past due: poll", 60, 5100, 5000, 0, true},
		{"one ns before the spin window", 60, 4939, 5000, 1, false},
	}
	for _, tt := range tests {
		p := newPacer(100, 1, tt.spin, 0)
		d, spin := p.sleep(tt.now, tt.due)
		if d != tt.wantD || spin != tt.wantSpin {
			t.Errorf("%s: sleep(%d, %d) = %d, %v; want %d, %v", tt.name, tt.now, tt.due, d, spin, tt.wantD, tt.wantSpin)
		}
	}
}

func TestPacerAwaitReply(t *testing.T) {
	tests := []struct {
		name      string
		reply     time.Duration
		now, sent int64
		want      bool
	}{
		{"just written: poll", 150, 1000, 1000, true},
		{"inside the window: poll", 150, 1149, 1000, true},
		{"window over: block", 150, 1150, 1000, false},
		{"nothing awaited: block", 150, 1000, noReply, false},
		{"off: block", 0, 1000, 1000, false},
		{"written at the loop's start: poll", 150, 10, 0, true},
	}
	for _, tt := range tests {
		p := newPacer(100, 1, 0, tt.reply)
		if got := p.awaitReply(tt.now, tt.sent); got != tt.want {
			t.Errorf("%s: awaitReply(%d, %d) = %v; want %v", tt.name, tt.now, tt.sent, got, tt.want)
		}
	}
}

func BenchmarkPacerTake(b *testing.B) {
	p := newPacer(1, 64, 0, 0)
	var sink int
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		conn, _, _ := p.take(int64(i))
		sink += conn
	}
	_ = sink
}
