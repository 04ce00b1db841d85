package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/muxbench/muxbench/backends"
	"github.com/muxbench/muxbench/backends/pollertest"
)

// A poller whose support check fails, as io_uring's does where it is
// disabled: registered for this test binary only.
const noKernelBackend = "test-unsupported"

func init() {
	backends.Register(pollertest.Unsupported(noKernelBackend, "unsupported: disabled by sysctl x=2: set x=0"))
}

// TestServeUnsupported: serve exits non-zero with the check's reason,
// before starting a server, and list shows the reason.
func TestServeUnsupported(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"serve", "-backend", noKernelBackend}, strings.NewReader(""), &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "unsupported: disabled by sysctl x=2: set x=0") || strings.Contains(errb.String(), "must not be constructed") {
		t.Errorf("serve -backend %s: exit %d, stderr %q; want non-zero with the check's reason, no server constructed", noKernelBackend, code, errb.String())
	}
	if out.Len() != 0 {
		t.Errorf("serve printed %q before failing; want nothing on stdout", out.String())
	}
	out.Reset()
	if code := run([]string{"list"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("list exited %d", code)
	}
	if !strings.Contains(out.String(), noKernelBackend) || !strings.Contains(out.String(), "[unsupported: disabled by sysctl x=2") {
		t.Errorf("list output lacks %s with its reason:\n%s", noKernelBackend, out.String())
	}
}
