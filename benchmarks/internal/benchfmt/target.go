package benchfmt

import "fmt"

// Target is a ratio of two medians with a bound; a zero bound marks a
// ratio given for information.
type Target struct {
	Desc     string
	Num, Den string // benchmark names without the -GOMAXPROCS suffix
	Metric   string
	AtLeast  bool // true: ratio ≥ bound, false: ratio ≤ bound
	Bound    float64
}

// Verdict is a Target evaluated on Results.
type Verdict struct {
	Target
	Ratio float64
	Met   bool // meaningless when Bound is 0
}

// String is the verdict column: "MET", "NOT MET" or "for information".
func (v Verdict) String() string {
	switch {
	case v.Bound == 0:
		return "for information"
	case v.Met:
		return "MET"
	default:
		return "NOT MET"
	}
}

// Goal is the bound as text: "≥ 10", "≤ 1.5", or "" for information.
func (v Verdict) Goal() string {
	if v.Bound == 0 {
		return ""
	}
	op := "≤"
	if v.AtLeast {
		op = "≥"
	}
	return fmt.Sprintf("%s %g", op, v.Bound)
}

// Eval returns the verdict of t on r; false if either median is missing
// or the denominator is zero.
func (t Target) Eval(r *Results) (Verdict, bool) {
	num, ok1 := r.Median(t.Num, t.Metric)
	den, ok2 := r.Median(t.Den, t.Metric)
	if !ok1 || !ok2 || den == 0 {
		return Verdict{}, false
	}
	v := Verdict{Target: t, Ratio: num / den}
	if t.AtLeast {
		v.Met = v.Ratio >= t.Bound
	} else {
		v.Met = v.Ratio <= t.Bound
	}
	return v, true
}

// ClusterTargets are the targets of clusterbench (issue 1's numbers).
var ClusterTargets = []Target{
	{"mixed 32 goroutines: gridkv ops/s ÷ olric ops/s", "BenchmarkMixed/c=32/gridkv", "BenchmarkMixed/c=32/olric", "ops/s", true, 10},
	{"mixed 2 goroutines: gridkv ops/s ÷ olric ops/s", "BenchmarkMixed/c=2/gridkv", "BenchmarkMixed/c=2/olric", "ops/s", true, 10},
	{"mixed 32 goroutines: olric cpu-ns/op ÷ gridkv cpu-ns/op", "BenchmarkMixed/c=32/olric", "BenchmarkMixed/c=32/gridkv", "cpu-ns/op", true, 0},
	{"mixed 2 goroutines: olric cpu-ns/op ÷ gridkv cpu-ns/op", "BenchmarkMixed/c=2/olric", "BenchmarkMixed/c=2/gridkv", "cpu-ns/op", true, 0},
	{"mixed 32 goroutines: gridkv p99 ÷ olric p99", "BenchmarkMixed/c=32/gridkv", "BenchmarkMixed/c=32/olric", "p99-ns", false, 0},
	{"mixed 32 goroutines: olric cpu-ns/op ÷ floor cpu-ns/op (the most a free transport could give)", "BenchmarkMixed/c=32/olric", "BenchmarkMixed/c=32/floor", "cpu-ns/op", true, 0},
	{"sequential: quorum Set p50 ÷ transport round trip p50", "BenchmarkSequential/set/gridkv", "BenchmarkSequential/transport", "p50-ns", false, 1.5},
	{"local Get (One) ÷ store.Get, serial", "BenchmarkLocalGet/serial/gridkv", "BenchmarkLocalGet/serial/store", "ns/op", false, 2},
	{"local Get (One) ÷ store.Get, parallel", "BenchmarkLocalGet/parallel/gridkv", "BenchmarkLocalGet/parallel/store", "ns/op", false, 2},
}

// Verdicts evaluates every target whose benchmarks r holds.
func Verdicts(r *Results, ts []Target) []Verdict {
	var vs []Verdict
	for _, t := range ts {
		if v, ok := t.Eval(r); ok {
			vs = append(vs, v)
		}
	}
	return vs
}
