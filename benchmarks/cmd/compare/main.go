// Command compare runs the clusterbench benchmarks in rounds and prints the
// median of every metric per benchmark, then the ratios that the targets of
// the comparison are about, each with its verdict:
//
//	cd benchmarks && go run ./cmd/compare [-count 5] [-bench .] [-out raw.txt]
//
// go test -count repeats each benchmark back to back, so on a shared,
// noisy machine one system could get a quiet minute and the other a busy
// one. compare instead builds the test binary once and runs it -count
// times, each run measuring every system in turn: medians then compare
// systems measured side by side.
//
// Given a file (or "-" for standard input) of go test -bench output, it only
// parses and prints: the medians table works for any package (hlcbench,
// ringbench, storebench, transport); targets whose benchmarks are missing
// are left out.
//
//	go test -run '^$' -bench . -count 6 ./storebench | go run ./cmd/compare -
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// target is a ratio of two medians with a bound; a zero bound marks a
// ratio printed for information.
type target struct {
	desc     string
	num, den string // benchmark names without the -GOMAXPROCS suffix
	metric   string
	atLeast  bool // true: ratio ≥ bound, false: ratio ≤ bound
	bound    float64
}

var targets = []target{
	{"mixed 32 goroutines: gridkv ops/s ÷ olric ops/s", "BenchmarkMixed/c=32/gridkv", "BenchmarkMixed/c=32/olric", "ops/s", true, 10},
	{"mixed 2 goroutines: gridkv ops/s ÷ olric ops/s", "BenchmarkMixed/c=2/gridkv", "BenchmarkMixed/c=2/olric", "ops/s", true, 10},
	{"mixed 32 goroutines: olric cpu-ns/op ÷ gridkv cpu-ns/op", "BenchmarkMixed/c=32/olric", "BenchmarkMixed/c=32/gridkv", "cpu-ns/op", true, 0},
	{"mixed 2 goroutines: olric cpu-ns/op ÷ gridkv cpu-ns/op", "BenchmarkMixed/c=2/olric", "BenchmarkMixed/c=2/gridkv", "cpu-ns/op", true, 0},
	{"mixed 32 goroutines: gridkv p99 ÷ olric p99", "BenchmarkMixed/c=32/gridkv", "BenchmarkMixed/c=32/olric", "p99-ns", false, 0},
	{"sequential: quorum Set p50 ÷ transport round trip p50", "BenchmarkSequential/set/gridkv", "BenchmarkSequential/transport", "p50-ns", false, 1.5},
	{"local Get (One) ÷ store.Get, serial", "BenchmarkLocalGet/serial/gridkv", "BenchmarkLocalGet/serial/store", "ns/op", false, 2},
	{"local Get (One) ÷ store.Get, parallel", "BenchmarkLocalGet/parallel/gridkv", "BenchmarkLocalGet/parallel/store", "ns/op", false, 2},
}

var procSuffix = regexp.MustCompile(`-\d+$`)

// results maps benchmark name, then metric unit, to the values of each run.
type results struct {
	names   []string // in order of first appearance
	units   []string
	samples map[string]map[string][]float64
}

func parse(r io.Reader) (*results, error) {
	res := &results{samples: map[string]map[string][]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue
		}
		name := procSuffix.ReplaceAllString(f[0], "")
		m, ok := res.samples[name]
		if !ok {
			m = map[string][]float64{}
			res.samples[name] = m
			res.names = append(res.names, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			unit := f[i+1]
			if !slices.Contains(res.units, unit) {
				res.units = append(res.units, unit)
			}
			m[unit] = append(m[unit], v)
		}
	}
	return res, sc.Err()
}

func median(v []float64) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2], true
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2, true
}

func (r *results) median(name, unit string) (float64, bool) {
	return median(r.samples[name][unit])
}

func format(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "compare:", err)
	os.Exit(1)
}

// runRounds builds pkg's test binary and runs its benchmarks count times,
// echoing the output to stderr (and out, if set), and returns it all.
func runRounds(pkg, bench, benchtime, systems string, count int, out string) []byte {
	dir, err := os.MkdirTemp("", "compare")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bench.test")
	build := exec.Command("go", "test", "-c", "-o", bin, pkg)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fatal(fmt.Errorf("go test -c %s: %w", pkg, err))
	}
	var all bytes.Buffer
	sinks := []io.Writer{&all, os.Stderr}
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			fatal(err)
		}
		defer f.Close()
		sinks = append(sinks, f)
	}
	w := io.MultiWriter(sinks...)
	args := []string{"-test.run", "^$", "-test.bench", bench, "-test.timeout", "60m"}
	if benchtime != "" {
		args = append(args, "-test.benchtime", benchtime)
	}
	if systems != "" && pkg == "./clusterbench" {
		args = append(args, "-clusterbench.systems", systems)
	}
	for i := range count {
		fmt.Fprintf(os.Stderr, "round %d/%d\n", i+1, count)
		cmd := exec.Command(bin, args...)
		cmd.Dir = pkg // as go test would, for packages that read testdata
		cmd.Stdout, cmd.Stderr = w, os.Stderr
		if err := cmd.Run(); err != nil {
			fatal(fmt.Errorf("round %d: %w", i+1, err))
		}
	}
	return all.Bytes()
}

func main() {
	var (
		count     = flag.Int("count", 5, "rounds: runs of the benchmark binary")
		bench     = flag.String("bench", ".", "benchmarks to run (-test.bench)")
		benchtime = flag.String("benchtime", "", "per benchmark (-test.benchtime); empty means go test's 1s")
		pkg       = flag.String("pkg", "./clusterbench", "package to benchmark")
		systems   = flag.String("systems", "", "for clusterbench: -clusterbench.systems (default all)")
		out       = flag.String("out", "", "also write the raw benchmark output to this file")
	)
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: compare [flags]            run benchmarks in rounds, then compare")
		fmt.Fprintln(os.Stderr, "       compare file|-             compare go test -bench output")
		flag.PrintDefaults()
	}
	flag.Parse()
	var in io.Reader
	switch {
	case flag.NArg() == 0:
		in = bytes.NewReader(runRounds(*pkg, *bench, *benchtime, *systems, *count, *out))
	case flag.Arg(0) == "-":
		in = os.Stdin
	default:
		f, err := os.Open(flag.Arg(0))
		if err != nil {
			fatal(err)
		}
		defer f.Close()
		in = f
	}
	res, err := parse(in)
	if err != nil {
		fatal(err)
	}
	if len(res.names) == 0 {
		fatal(errors.New("no benchmark lines in the input"))
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "benchmark (median)\truns\t")
	for _, u := range res.units {
		fmt.Fprintf(tw, "%s\t", u)
	}
	fmt.Fprintln(tw)
	for _, name := range res.names {
		m := res.samples[name]
		runs := 0
		for _, v := range m {
			runs = max(runs, len(v))
		}
		fmt.Fprintf(tw, "%s\t%d\t", name, runs)
		for _, u := range res.units {
			if v, ok := median(m[u]); ok {
				fmt.Fprintf(tw, "%s\t", format(v))
			} else {
				fmt.Fprint(tw, "-\t")
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()

	first := true
	for _, t := range targets {
		num, ok1 := res.median(t.num, t.metric)
		den, ok2 := res.median(t.den, t.metric)
		if !ok1 || !ok2 || den == 0 {
			continue
		}
		if first {
			fmt.Println("\ntargets (ratios of medians of this run):")
			first = false
		}
		ratio := num / den
		if t.bound == 0 {
			fmt.Printf("  %-56s %8.2f  (for information)\n", t.desc, ratio)
			continue
		}
		met := ratio <= t.bound
		op := "≤"
		if t.atLeast {
			met, op = ratio >= t.bound, "≥"
		}
		verdict := "MET"
		if !met {
			verdict = "NOT MET"
		}
		fmt.Printf("  %-56s %8.2f  (target %s %g)  %s\n", t.desc, ratio, op, t.bound, verdict)
	}
}
