package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
)

func TestParseHello(t *testing.T) {
	for _, tc := range []struct {
		line string
		ok   bool
	}{
		{`{"addr":"127.0.0.1:5000","pid":7,"backend":"poll","loop_thread":true}`, true},
		{`{"pid":7}`, false},
		{`not-json`, false},
		{``, false},
	} {
		h, err := ParseHello([]byte(tc.line))
		if tc.ok != (err == nil) {
			t.Errorf("ParseHello(%q) = %+v, %v; want ok %v", tc.line, h, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrNotHello) {
			t.Errorf("ParseHello(%q): %v; want it to wrap ErrNotHello", tc.line, err)
		}
	}
}

// FuzzParseReport: whatever the line, ParseReport does not panic, and what
// it accepts encodes and decodes to the same Report (an empty list of
// loops and none encode alike, so the encodings are compared).
func FuzzParseReport(f *testing.F) {
	f.Add([]byte(`{"waits":1,"conns_open":2,"errors":{"reset":3},"mono_ns":4,"final":true}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"waits":3,"loop_wakeups":9,"loops":[{"waits":1,"cpu":0,"wakeups":4},{"waits":2,"cpu":-1,"wakeups":5,"empty_accepts":1}]}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := ParseReport(line)
		if err != nil {
			return
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseReport(b)
		b2, _ := json.Marshal(again)
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("round trip of %s: %+v, %v; want %+v", b, again, err, r)
		}
	})
}

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		line, token, verb string
		ok                bool
	}{
		{"abc stats", "abc", "stats", true},
		{"  abc quit \n", "abc", "quit", true},
		{"stats", "", "stats", false},
		{"", "", "", false},
		{" stats", "", "stats", false},
	} {
		token, verb, ok := ParseCommand(tc.line)
		if token != tc.token || verb != tc.verb || ok != tc.ok {
			t.Errorf("ParseCommand(%q) = %q, %q, %v; want %q, %q, %v", tc.line, token, verb, ok, tc.token, tc.verb, tc.ok)
		}
	}
	if got := Command("t0k", CmdStats); got != "t0k stats" {
		t.Errorf("Command = %q; want %q", got, "t0k stats")
	}
	if token, verb, ok := ParseCommand(Command("t0k", CmdQuit)); token != "t0k" || verb != CmdQuit || !ok {
		t.Errorf("ParseCommand(Command(t0k, quit)) = %q, %q, %v", token, verb, ok)
	}
}

// TestStatsAddEveryField: Add sums every counter (a field added to Stats
// and forgotten in Add would make several loops' sum wrong), and keeps the
// larger MaxWatchedFD.
func TestStatsAddEveryField(t *testing.T) {
	var one Stats
	setAll(reflect.ValueOf(&one).Elem(), 1)
	sum := one
	sum.Add(one)
	var check func(v reflect.Value, path string)
	check = func(v reflect.Value, path string) {
		for i := 0; i < v.NumField(); i++ {
			f, name := v.Field(i), path+v.Type().Field(i).Name
			want := int64(2)
			if name == "MaxWatchedFD" {
				want = 1
			}
			switch f.Kind() {
			case reflect.Struct:
				check(f, name+".")
			case reflect.Int64:
				if f.Int() != want {
					t.Errorf("%s = %d after adding 1 to 1; want %d", name, f.Int(), want)
				}
			case reflect.Uint64:
				if int64(f.Uint()) != want {
					t.Errorf("%s = %d after adding 1 to 1; want %d", name, f.Uint(), want)
				}
			default:
				t.Errorf("%s: a %s; the test knows counters only", name, f.Kind())
			}
		}
	}
	check(reflect.ValueOf(sum), "")
}

// setAll sets every integer field of v, nested structs too, to n.
func setAll(v reflect.Value, n int64) {
	for i := 0; i < v.NumField(); i++ {
		switch f := v.Field(i); f.Kind() {
		case reflect.Struct:
			setAll(f, n)
		case reflect.Int64:
			f.SetInt(n)
		case reflect.Uint64:
			f.SetUint(uint64(n))
		}
	}
}

// TestHelloFromAnEchoPort: a client pointed at the echo port instead of
// the control port gets its command back; Hello says that port is not a
// control port, not that some JSON did not decode.
func TestHelloFromAnEchoPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	c, err := Dial(ln.Addr().String(), "tok")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Hello()
	c.Close()
	if !errors.Is(err, ErrNoHello) || !strings.Contains(err.Error(), `it sent "tok hello"`) {
		t.Errorf("Hello from an echo port: %v; want ErrNoHello with what came back", err)
	}
}
