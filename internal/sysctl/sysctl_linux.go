// Package sysctl reads the kernel settings (/proc/sys) that bound a
// benchmark. The server sizes its listen backlog from them and the
// harness records and checks them; both read them here.
package sysctl

import (
	"os"
	"strconv"
	"strings"
)

// DefaultSomaxconn is what Somaxconn returns when the setting cannot be
// read: the kernel's default since 5.4.
const DefaultSomaxconn = 4096

// Somaxconn returns net.core.somaxconn, the cap on any listen backlog, or
// DefaultSomaxconn if it cannot be read.
func Somaxconn() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return DefaultSomaxconn
	}
	return parsePositive(b, DefaultSomaxconn)
}

// parsePositive parses a /proc/sys integer, or returns def if it is not a
// positive one.
func parsePositive(b []byte, def int) int {
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return def
	}
	return n
}
