package benchfmt

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// Suite is one package's benchmarks, run as a prebuilt test binary.
type Suite struct {
	Name      string   // label in progress lines
	Pkg       string   // a relative folder ("./clusterbench", "../transport"): built with go test -c, and the binary's working directory
	Bench     string   // -test.bench; empty means "."
	Benchtime string   // -test.benchtime; empty means go test's 1s
	Args      []string // more arguments, after the test flags
}

// Rounds builds every suite's test binary once, then runs count rounds;
// each round runs every suite once, in order, with -test.count 1. So
// every system takes its turn in every round, as go test -count (which
// repeats each sub-benchmark back to back) would not: on a shared machine
// a noisy minute then hits all systems instead of one. Output goes to
// echo as it comes; the output of each suite is returned, by index.
func Rounds(suites []Suite, count int, echo io.Writer) ([][]byte, error) {
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
	outs := make([]bytes.Buffer, len(suites))
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
			cmd := exec.Command(bins[i], args...)
			cmd.Dir = s.Pkg // as go test would, for packages that read testdata
			cmd.Stdout, cmd.Stderr = io.MultiWriter(&outs[i], echo), echo
			if err := cmd.Run(); err != nil {
				return nil, fmt.Errorf("%s, round %d: %w", s.Name, round+1, err)
			}
		}
	}
	res := make([][]byte, len(suites))
	for i := range outs {
		res[i] = outs[i].Bytes()
	}
	return res, nil
}
