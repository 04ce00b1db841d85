package main

import (
	"strings"
	"testing"
)

func TestEnvConnsUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"env", "-role", "server"}, "apply with -conns N only"},
		{[]string{"env", "-conns", "10", "-role", "client"}, `-role "client"`},
		{[]string{"env", "-conns", "10", "-generators", "3"}, "with -role both"},
		{[]string{"env", "-conns", "-5"}, "-conns -5"},
	} {
		code, _, stderr := loadRunCmd(tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}
