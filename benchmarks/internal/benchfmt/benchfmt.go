// Package benchfmt reads go test -bench output and summarises it by
// medians: the shared part of cmd/compare and cmd/report.
//
//  1. Parse reads benchmark lines (any number of runs of each benchmark)
//     into Results, names without the -GOMAXPROCS suffix.
//  2. Results.Median gives the median of one metric of one benchmark;
//     Target.Eval turns two medians into a ratio and a verdict.
//  3. Rounds builds test binaries once and runs them in rounds, every
//     suite once per round, so the systems a suite compares (and the
//     suites themselves) take turns on a shared, noisy machine.
package benchfmt

import (
	"bufio"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var procSuffix = regexp.MustCompile(`-\d+$`)

// Results maps benchmark name, then metric unit, to the values of each run.
type Results struct {
	Names   []string // in order of first appearance
	Units   []string // in order of first appearance
	Samples map[string]map[string][]float64
}

// Parse reads go test -bench output; lines that are not benchmark results
// are skipped.
func Parse(r io.Reader) (*Results, error) {
	res := &Results{Samples: map[string]map[string][]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		res.addLine(sc.Text())
	}
	return res, sc.Err()
}

func (res *Results) addLine(line string) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
		return
	}
	if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
		return
	}
	name := procSuffix.ReplaceAllString(f[0], "")
	m, ok := res.Samples[name]
	if !ok {
		m = map[string][]float64{}
		res.Samples[name] = m
		res.Names = append(res.Names, name)
	}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			continue
		}
		unit := f[i+1]
		if !slices.Contains(res.Units, unit) {
			res.Units = append(res.Units, unit)
		}
		m[unit] = append(m[unit], v)
	}
}

// Median returns the median of v; false if v is empty.
func Median(v []float64) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2], true
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2, true
}

// Median returns the median of metric unit of benchmark name.
func (r *Results) Median(name, unit string) (float64, bool) {
	return Median(r.Samples[name][unit])
}

// Runs returns how many runs of name the results hold (the most values
// of any of its metrics).
func (r *Results) Runs(name string) int {
	n := 0
	for _, v := range r.Samples[name] {
		n = max(n, len(v))
	}
	return n
}

// UnitsOf returns the metrics name reported, in the order of r.Units.
func (r *Results) UnitsOf(name string) []string {
	var us []string
	for _, u := range r.Units {
		if len(r.Samples[name][u]) > 0 {
			us = append(us, u)
		}
	}
	return us
}

// Format prints a value with few digits: whole numbers from 100 up, one
// decimal from 1, three significant digits below.
func Format(v float64) string {
	switch {
	case v >= 100 || v <= -100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 1 || v <= -1:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}
