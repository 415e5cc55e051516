// Command compare runs the clusterbench benchmarks (or -pkg's) in rounds
// and prints the median of every metric per benchmark, then the ratios
// that the targets of the comparison are about, each with its verdict:
//
//	cd benchmarks && go run ./cmd/compare [-count 5] [-bench .] [-out raw.txt]
//	cd benchmarks && go run ./cmd/compare -pkg ../transport -bench Call
//
// The rounds, the parsing and the targets live in internal/benchfmt, which
// cmd/report shares.
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
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/gridkv/gridkv/benchmarks/internal/benchfmt"
)

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "compare:", err)
	os.Exit(1)
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
	var (
		in       io.Reader
		failures []string
	)
	switch {
	case flag.NArg() == 0:
		s := benchfmt.Suite{Name: *pkg, Pkg: *pkg, Bench: *bench, Benchtime: *benchtime}
		if *systems != "" && *pkg == "./clusterbench" {
			s.Args = []string{"-clusterbench.systems", *systems}
		}
		outs, err := benchfmt.Rounds([]benchfmt.Suite{s}, *count, os.Stderr)
		if err != nil {
			fatal(err)
		}
		if *out != "" {
			if err := os.WriteFile(*out, outs[0].Out, 0o644); err != nil {
				fatal(err)
			}
		}
		failures = outs[0].Failures
		in = bytes.NewReader(outs[0].Out)
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
	res, err := benchfmt.Parse(in)
	if err != nil {
		fatal(err)
	}
	if len(res.Names) == 0 {
		fatal(errors.New("no benchmark lines in the input"))
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "benchmark (median)\truns\t")
	for _, u := range res.Units {
		fmt.Fprintf(tw, "%s\t", u)
	}
	fmt.Fprintln(tw)
	for _, name := range res.Names {
		fmt.Fprintf(tw, "%s\t%d\t", name, res.Runs(name))
		for _, u := range res.Units {
			if v, ok := res.Median(name, u); ok {
				fmt.Fprintf(tw, "%s\t", benchfmt.Format(v))
			} else {
				fmt.Fprint(tw, "-\t")
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()

	for i, v := range benchfmt.Verdicts(res, benchfmt.ClusterTargets) {
		if i == 0 {
			fmt.Println("\ntargets (ratios of medians of this run):")
		}
		if v.Bound == 0 {
			fmt.Printf("  %-56s %8.2f  (for information)\n", v.Desc, v.Ratio)
			continue
		}
		fmt.Printf("  %-56s %8.2f  (target %s)  %s\n", v.Desc, v.Ratio, v.Goal(), v)
	}
	if len(failures) > 0 {
		fmt.Println("\nfailed rounds (their completed benchmarks are counted):")
		for _, f := range failures {
			fmt.Println("  " + f)
		}
		os.Exit(1)
	}
}
