package hlc_test

import (
	"testing"
	"time"

	"github.com/gridkv/gridkv/hlc"
)

// The targets: Now costs at most 1.2 times time.Now in the same run, serial
// and parallel, and allocates nothing. Compare with
//
//	go test -run '^$' -bench 'Now' -count 10 . | benchstat -
//
// BenchmarkTimeNow and BenchmarkTimeNowParallel are the baselines.

func BenchmarkTimeNow(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		time.Now()
	}
}

func BenchmarkTimeNowParallel(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var t time.Time
		for pb.Next() {
			t = time.Now()
		}
		_ = t
	})
}

func BenchmarkNow(b *testing.B) {
	b.ReportAllocs()
	var c hlc.Clock
	for b.Loop() {
		c.Now()
	}
}

func BenchmarkNowParallel(b *testing.B) {
	b.ReportAllocs()
	var c hlc.Clock
	b.RunParallel(func(pb *testing.PB) {
		var ts hlc.Timestamp
		for pb.Next() {
			ts = c.Now()
		}
		_ = ts
	})
}

// BenchmarkNowManualClock measures the cost of an injected WallClock.
func BenchmarkNowManualClock(b *testing.B) {
	b.ReportAllocs()
	c, err := hlc.NewClock(&hlc.Config{WallClock: hlc.NewManualClock(time.Now())})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		c.Now()
	}
}

// BenchmarkUpdate merges a remote timestamp that is ahead every time, so each
// Update moves the clock.
func BenchmarkUpdate(b *testing.B) {
	b.ReportAllocs()
	var c hlc.Clock
	remote := c.Now()
	for b.Loop() {
		remote++
		if err := c.Update(remote); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkString(b *testing.B) {
	b.ReportAllocs()
	ts := hlc.New(1700000000123, 4)
	n := 0
	for b.Loop() {
		n += len(ts.String())
	}
	if n == 0 {
		b.Fatal("empty String")
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := hlc.Parse("1700000000.123,4"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendDecode(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 8)
	ts := hlc.New(1700000000123, 4)
	for b.Loop() {
		buf = ts.Append(buf[:0])
		if _, _, err := hlc.Decode(buf); err != nil {
			b.Fatal(err)
		}
	}
}
