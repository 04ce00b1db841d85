package harness

import (
	"bufio"
	"bytes"
	"runtime/debug"
	"strings"
)

// The parsers below turn what the kernel and the Go toolchain report into
// results.Environment fields (the CPU model and limits are procfs's). They are pure, so they are tested on fixtures;
// env_linux.go reads the files. Each returns "" for what it cannot tell:
// an unknown value is left out of the record, never guessed.

// buildProvenance is the version, commit and modified flag stamped into
// this binary (go build and go run in a VCS checkout stamp vcs.revision and
// vcs.modified; a binary built elsewhere, or with -buildvcs=false, has
// none). The commit is that of the source the binary was built from, not
// of whatever directory it runs in.
func buildProvenance(bi *debug.BuildInfo) (version, commit string, dirty bool) {
	if bi == nil {
		return "", "", false
	}
	switch v := bi.Main.Version; v {
	case "":
	case "(devel)":
		version = "devel"
	default:
		version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if commit == "" {
		dirty = false // no commit to be modified from
	}
	return version, commit, dirty
}

// parseIRQTimeAccounting reads CONFIG_IRQ_TIME_ACCOUNTING from a kernel
// config: "yes" when set, "no" when "is not set" or absent from a config
// that is there (architectures without it leave it out).
func parseIRQTimeAccounting(config []byte) string {
	const opt = "CONFIG_IRQ_TIME_ACCOUNTING"
	sc := bufio.NewScanner(bytes.NewReader(config))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == opt+"=y":
			return "yes"
		case line == "# "+opt+" is not set", strings.HasPrefix(line, opt+"="):
			return "no"
		}
	}
	return "no"
}

// sysValue is the text of a one-value sysfs file, or "" when it is empty.
func sysValue(b []byte) string {
	return strings.TrimSpace(string(b))
}
