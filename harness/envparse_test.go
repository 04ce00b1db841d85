package harness

import (
	"runtime/debug"
	"testing"
)

func TestBuildProvenance(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	tests := []struct {
		name         string
		bi           *debug.BuildInfo
		version, rev string
		dirty        bool
	}{
		{"no build info", nil, "", "", false},
		{"built outside a checkout", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel", "", false},
		{"checkout, clean", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20260102150405-0123456789ab"},
			Settings: settings("vcs", "git", "vcs.revision", "0123456789abcdef", "vcs.modified", "false")},
			"v0.0.0-20260102150405-0123456789ab", "0123456789abcdef", false},
		{"checkout, modified", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
			Settings: settings("vcs.revision", "0123456789abcdef", "vcs.modified", "true")}, "devel", "0123456789abcdef", true},
		{"modified without a revision", &debug.BuildInfo{Settings: settings("vcs.modified", "true")}, "", "", false},
		{"released module", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, c, d := buildProvenance(tt.bi)
			if v != tt.version || c != tt.rev || d != tt.dirty {
				t.Errorf("got version %q commit %q dirty %v; want %q %q %v", v, c, d, tt.version, tt.rev, tt.dirty)
			}
		})
	}
}

func TestParseIRQTimeAccounting(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"set", "CONFIG_TICK_CPU_ACCOUNTING=y\nCONFIG_IRQ_TIME_ACCOUNTING=y\n", "yes"},
		{"not set", "# CONFIG_IRQ_TIME_ACCOUNTING is not set\n", "no"},
		{"absent", "CONFIG_HZ=250\n", "no"},
		{"prefix is another option", "CONFIG_IRQ_TIME_ACCOUNTING_X=y\n", "no"},
	}
	for _, tt := range tests {
		if got := parseIRQTimeAccounting([]byte(tt.in)); got != tt.want {
			t.Errorf("%s: parseIRQTimeAccounting = %q; want %q", tt.name, got, tt.want)
		}
	}
}
