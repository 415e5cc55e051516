package benchfmt

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Suite is one package's benchmarks, run as a prebuilt test binary.
type Suite struct {
	Name      string   // label in progress lines
	Pkg       string   // a relative folder ("./clusterbench", "../transport"): built with go test -c, and the binary's working directory
	Bench     string   // -test.bench; empty means "."
	Benchtime string   // -test.benchtime; empty means go test's 1s
	Args      []string // more arguments, after the test flags
}

// Output is what one suite printed over all rounds, and the rounds that
// failed.
type Output struct {
	Out      []byte
	Failures []string // "round 3: exit status 1: --- FAIL: ..." per failed round
}

// Rounds builds every suite's test binary once, then runs count rounds;
// each round runs every suite once, in order, with -test.count 1. So
// every system takes its turn in every round, as go test -count (which
// repeats each sub-benchmark back to back) would not: on a shared machine
// a noisy minute then hits all systems instead of one. Output goes to
// echo as it comes. A failed round of a suite (a benchmark that fails
// under load, say) is recorded in its Failures and the rounds go on: the
// benchmarks it completed still count. The error is for what stops
// everything: a failed build.
func Rounds(suites []Suite, count int, echo io.Writer) ([]Output, error) {
	dir, err := os.MkdirTemp("", "benchrounds")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bins := make([]string, len(suites))
	for i, s := range suites {
		bins[i] = filepath.Join(dir, fmt.Sprintf("%d.test", i))
		build := exec.Command("go", "test", "-c", "-o", bins[i], s.Pkg)
		build.Stdout, build.Stderr = echo, echo
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("go test -c %s: %w", s.Pkg, err)
		}
	}
	outs := make([]Output, len(suites))
	for round := range count {
		for i, s := range suites {
			fmt.Fprintf(echo, "round %d/%d: %s\n", round+1, count, s.Name)
			bench := s.Bench
			if bench == "" {
				bench = "."
			}
			args := []string{"-test.run", "^$", "-test.bench", bench, "-test.benchmem", "-test.count", "1", "-test.timeout", "60m"}
			if s.Benchtime != "" {
				args = append(args, "-test.benchtime", s.Benchtime)
			}
			args = append(args, s.Args...)
			var out bytes.Buffer
			cmd := exec.Command(bins[i], args...)
			cmd.Dir = s.Pkg // as go test would, for packages that read testdata
			cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, echo), echo
			if err := cmd.Run(); err != nil {
				outs[i].Failures = append(outs[i].Failures, fmt.Sprintf("round %d: %v: %s", round+1, err, failLines(out.String())))
			}
			outs[i].Out = append(outs[i].Out, out.Bytes()...)
		}
	}
	return outs, nil
}

// failLines returns the first lines of a failure report in go test
// output, joined: "--- FAIL: BenchmarkX / bench_test.go:171: ...".
func failLines(out string) string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "--- FAIL") {
			var keep []string
			for _, k := range lines[i:min(i+4, len(lines))] {
				if k = strings.TrimSpace(k); k != "" && k != "FAIL" {
					keep = append(keep, k)
				}
			}
			return strings.Join(keep, " / ")
		}
	}
	lines = slices.DeleteFunc(lines, func(l string) bool { return strings.TrimSpace(l) == "" })
	return strings.Join(lines[max(0, len(lines)-3):], " / ")
}
