package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/lineup"
)

// TestListVariantsApart: variants are listed under their own heading,
// after every default backend.
func TestListVariantsApart(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"list"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("list exited %d: %s", code, errb.String())
	}
	text := out.String()
	head, drain, gonet := strings.Index(text, "VARIANT"), strings.Index(text, "epoll-et-drain"), strings.Index(text, "gonet")
	if head < 0 || drain < head || gonet > head {
		t.Errorf("list output: VARIANT heading at %d, epoll-et-drain at %d, gonet at %d; want gonet < VARIANT < epoll-et-drain:\n%s", head, drain, gonet, text)
	}
}

// TestListPitfallsApart: every pitfall is listed under the PITFALL heading,
// after the variants, and nowhere before it.
func TestListPitfallsApart(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"list"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("list exited %d: %s", code, errb.String())
	}
	text := out.String()
	variants, head, scen := strings.Index(text, "VARIANT"), strings.Index(text, "PITFALL"), strings.Index(text, "SCENARIO")
	if variants < 0 || head < variants || scen < head {
		t.Fatalf("list output: VARIANT at %d, PITFALL at %d, SCENARIO at %d; want them in that order:\n%s", variants, head, scen, text)
	}
	for _, name := range lineup.Pitfalls {
		if i := strings.Index(text, name); i < head || i > scen {
			t.Errorf("%s listed at %d; want it under PITFALL (%d..%d)", name, i, head, scen)
		}
	}
}
