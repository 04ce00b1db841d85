package harness

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"

	"golang.org/x/sys/unix"

	"github.com/muxbench/muxbench/internal/procfs"
	"github.com/muxbench/muxbench/results"
)

// CollectEnvironment describes this machine and build for the record. What
// cannot be read is left empty (unknown), never guessed: the commit is the
// one stamped into this binary, not asked of git in the current directory.
func CollectEnvironment() results.Environment {
	e := results.Environment{
		OS: runtime.GOOS, Arch: runtime.GOARCH, Cores: runtime.NumCPU(),
		GoVersion:  runtime.Version(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
	}
	e.Hostname, _ = os.Hostname()
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		e.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	e.CPUModel, _ = procfs.CPUModel()
	readWakeup("/", &e)
	// Unreadable limits stay absent (0, ""): a default here would be
	// recorded as if measured.
	if n, err := procfs.Somaxconn(); err == nil {
		e.Somaxconn = n
	}
	if soft, hard, err := procfs.NoFile(); err == nil {
		e.NoFileSoft, e.NoFileHard = soft, hard
	}
	if lo, hi, err := procfs.LocalPortRange(); err == nil {
		e.PortRange = fmt.Sprintf("%d %d", lo, hi)
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		e.Version, e.Commit, e.Dirty = buildProvenance(bi)
	}
	return e
}

// readWakeup fills in what changes the cost of a wake-up, read from the
// sysfs and procfs under root ("/" but for tests): the cpuidle driver and
// governor, haltpoll's parameters, the CPU vulnerability mitigations and
// whether IRQ time is accounted apart from tasks.
func readWakeup(root string, e *results.Environment) {
	cpuidle := filepath.Join(root, "sys/devices/system/cpu/cpuidle")
	e.CPUIdleDriver = readValue(filepath.Join(cpuidle, "current_driver"))
	// current_governor_ro is the read-only name on kernels that let root
	// switch governors through current_governor.
	if e.CPUIdleGovernor = readValue(filepath.Join(cpuidle, "current_governor_ro")); e.CPUIdleGovernor == "" {
		e.CPUIdleGovernor = readValue(filepath.Join(cpuidle, "current_governor"))
	}
	e.Haltpoll = readValues(filepath.Join(root, "sys/module/haltpoll/parameters"))
	e.Vulnerabilities = readValues(filepath.Join(root, "sys/devices/system/cpu/vulnerabilities"))
	if cfg, err := readKernelConfig(root, e.Kernel); err == nil {
		e.IRQTimeAccounting = parseIRQTimeAccounting(cfg)
	}
}

// readValue is the value of a one-value sysfs file, "" when unreadable.
func readValue(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return sysValue(b)
}

// readValues reads every file in dir as name: value; nil when dir cannot
// be read, and files that cannot be read (or are empty) are left out.
func readValues(dir string) map[string]string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out map[string]string
	for _, ent := range entries {
		if ent.IsDir() {
			continue
		}
		if v := readValue(filepath.Join(dir, ent.Name())); v != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[ent.Name()] = v
		}
	}
	return out
}

// readKernelConfig returns the running kernel's build configuration from
// /proc/config.gz (CONFIG_IKCONFIG_PROC) or /boot/config-RELEASE.
func readKernelConfig(root, release string) ([]byte, error) {
	if f, err := os.Open(filepath.Join(root, "proc/config.gz")); err == nil {
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("read /proc/config.gz: %w", err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("read /proc/config.gz: %w", err)
		}
		return b, nil
	}
	if release == "" {
		return nil, errors.New("kernel release unknown: no /boot/config-RELEASE to read")
	}
	return os.ReadFile(filepath.Join(root, "boot", "config-"+release))
}
