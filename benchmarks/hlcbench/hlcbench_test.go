package hlcbench

import (
	"sync"
	"testing"
	"time"

	"github.com/gridkv/gridkv/hlc"
)

// mutexClock is the textbook hybrid logical clock: wall part and counter
// kept apart under a mutex, reading the wall clock with time.Now. It is the
// obvious implementation that hlc.Clock has to beat.
type mutexClock struct {
	mu      sync.Mutex
	wall    int64
	logical uint16
}

func (c *mutexClock) Now() hlc.Timestamp {
	pt := time.Now().UnixMilli()
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case pt > c.wall:
		c.wall, c.logical = pt, 0
	case c.logical == 0xffff:
		c.wall, c.logical = c.wall+1, 0
	default:
		c.logical++
	}
	return hlc.New(c.wall, c.logical)
}

type clock interface{ Now() hlc.Timestamp }

// timeNow is the baseline: what time.Now alone costs.
type timeNow struct{}

func (timeNow) Now() hlc.Timestamp { return hlc.Timestamp(time.Now().UnixNano()) }

func clocks() []struct {
	name string
	c    clock
} {
	return []struct {
		name string
		c    clock
	}{
		{"clock=time.Now", timeNow{}},
		{"clock=hlc", &hlc.Clock{}},
		{"clock=mutex", &mutexClock{}},
	}
}

// BenchmarkNow reads each clock from one goroutine. The calls go through
// the clock interface for all three, so the comparison is even.
func BenchmarkNow(b *testing.B) {
	for _, tc := range clocks() {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var prev hlc.Timestamp
			for b.Loop() {
				ts := tc.c.Now()
				if ts < prev && tc.name != "clock=time.Now" {
					b.Fatalf("%v after %v", ts, prev)
				}
				prev = ts
			}
		})
	}
}

// BenchmarkNowParallel reads each clock from GOMAXPROCS goroutines at once,
// where the hlc.Clock contends on one atomic word and mutexClock on a lock.
func BenchmarkNowParallel(b *testing.B) {
	for _, tc := range clocks() {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var prev hlc.Timestamp
				for pb.Next() {
					ts := tc.c.Now()
					if ts < prev && tc.name != "clock=time.Now" {
						b.Errorf("%v after %v", ts, prev)
						return
					}
					prev = ts
				}
			})
		})
	}
}

// TestMutexClock keeps the baseline honest: it must be a working clock.
func TestMutexClock(t *testing.T) {
	var c mutexClock
	prev := c.Now()
	for range 100000 {
		ts := c.Now()
		if ts <= prev {
			t.Fatalf("%v after %v", ts, prev)
		}
		prev = ts
	}
}
