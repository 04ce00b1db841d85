package harness

import (
	"bytes"
	"compress/gzip"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/muxbench/muxbench/results"
)

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadWakeup(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("CONFIG_IRQ_TIME_ACCOUNTING=y\n"))
	zw.Close()

	full := t.TempDir()
	writeTree(t, full, map[string]string{
		"sys/devices/system/cpu/cpuidle/current_driver":               "haltpoll\n",
		"sys/devices/system/cpu/cpuidle/current_governor_ro":          "haltpoll\n",
		"sys/devices/system/cpu/cpuidle/current_governor":             "menu\n",
		"sys/module/haltpoll/parameters/guest_halt_poll_ns":           "200000\n",
		"sys/module/haltpoll/parameters/guest_halt_poll_allow_shrink": "Y\n",
		"sys/devices/system/cpu/vulnerabilities/meltdown":             "Not affected\n",
		"sys/devices/system/cpu/vulnerabilities/spectre_v2":           "Mitigation: Retpolines; STIBP: disabled\n",
		"proc/config.gz": gz.String(),
	})
	boot := t.TempDir()
	writeTree(t, boot, map[string]string{
		"sys/devices/system/cpu/cpuidle/current_governor": "menu\n",
		"boot/config-6.8.0-test":                          "# CONFIG_IRQ_TIME_ACCOUNTING is not set\n",
	})

	tests := []struct {
		name string
		root string
		want results.Environment
	}{
		{"everything readable", full, results.Environment{
			CPUIdleDriver: "haltpoll", CPUIdleGovernor: "haltpoll",
			Haltpoll:          map[string]string{"guest_halt_poll_ns": "200000", "guest_halt_poll_allow_shrink": "Y"},
			Vulnerabilities:   map[string]string{"meltdown": "Not affected", "spectre_v2": "Mitigation: Retpolines; STIBP: disabled"},
			IRQTimeAccounting: "yes",
		}},
		{"writable governor, config in /boot", boot, results.Environment{CPUIdleGovernor: "menu", IRQTimeAccounting: "no"}},
		{"nothing readable: all unknown", t.TempDir(), results.Environment{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := results.Environment{Kernel: "6.8.0-test"}
			readWakeup(tt.root, &got)
			tt.want.Kernel = got.Kernel
			if got.CPUIdleDriver != tt.want.CPUIdleDriver || got.CPUIdleGovernor != tt.want.CPUIdleGovernor ||
				!maps.Equal(got.Haltpoll, tt.want.Haltpoll) || !maps.Equal(got.Vulnerabilities, tt.want.Vulnerabilities) ||
				got.IRQTimeAccounting != tt.want.IRQTimeAccounting {
				t.Errorf("got %+v;\nwant %+v", got, tt.want)
			}
		})
	}
}

// The commit recorded is the binary's own: a test binary has no VCS stamp,
// so it is unknown, whatever repository the test runs in.
func TestCollectEnvironmentProvenance(t *testing.T) {
	e := CollectEnvironment()
	if e.Commit != "" || e.Dirty {
		t.Errorf("commit %q, dirty %v; want unknown (a test binary carries no vcs.revision)", e.Commit, e.Dirty)
	}
	if e.GOMAXPROCS < 1 {
		t.Errorf("GOMAXPROCS %d; want this process's", e.GOMAXPROCS)
	}
}
