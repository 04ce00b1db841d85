package main

import (
	"bytes"
	"strings"
	"testing"
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
