// Package tiny is a benchmark package for TestRounds: BenchmarkA always
// passes, BenchmarkFail fails when run with -fail.
package tiny

import (
	"flag"
	"testing"
)

var fail = flag.Bool("fail", false, "make BenchmarkFail fail")

func BenchmarkA(b *testing.B) {
	for b.Loop() {
	}
	b.ReportMetric(42, "answers/op")
}

func BenchmarkFail(b *testing.B) {
	if *fail {
		b.Fatal("failing as asked")
	}
	for b.Loop() {
	}
}
