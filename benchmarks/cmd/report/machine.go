package main

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// machine holds the facts a reader needs to weigh the numbers.
type machine struct {
	Date, CPU, Kernel, GoVersion, Commit, Dirty string
	Cores                                       int
	LoadBefore, LoadAfter                       string
	Duration                                    time.Duration
}

func machineFacts() *machine {
	m := &machine{
		Date:       time.Now().UTC().Format("2006-01-02 15:04 MST"),
		CPU:        cpuModel(),
		Cores:      runtime.NumCPU(),
		Kernel:     strings.TrimSpace(readFile("/proc/sys/kernel/osrelease")),
		GoVersion:  output("go", "env", "GOVERSION"),
		Commit:     output("git", "log", "-1", "--format=%h %s"),
		LoadBefore: loadAvg(),
	}
	// The working tree may hold other people's uncommitted work: say which
	// folders differ from the commit, since the binaries are built from them.
	if st := output("git", "status", "--porcelain", "--", ".."); st != "" {
		seen := map[string]bool{}
		var dirs []string
		for _, l := range strings.Split(st, "\n") {
			f := strings.Fields(l) // status, path (or old -> new): the last is the path
			if len(f) < 2 {
				continue
			}
			d, _, _ := strings.Cut(f[len(f)-1], "/")
			if !seen[d] {
				seen[d] = true
				dirs = append(dirs, d)
			}
		}
		m.Dirty = strings.Join(dirs, ", ")
	}
	return m
}

func (m *machine) finish(start time.Time) {
	m.LoadAfter = loadAvg()
	m.Duration = time.Since(start).Round(time.Second)
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// output runs a command and returns its trimmed output ("?" on failure).
func output(name string, args ...string) string {
	b, err := exec.Command(name, args...).Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// loadAvg is the 1, 5 and 15-minute load average ("?" where unknown).
func loadAvg() string {
	f := strings.Fields(readFile("/proc/loadavg"))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
