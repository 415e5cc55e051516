package clusterbench

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestHistogram checks buckets against sorted samples: every quantile is
// within the bucket precision (1/32) of the exact one.
func TestHistogram(t *testing.T) {
	for i := range numBuckets {
		lo, w := bucketRange(i)
		if got := bucketOf(lo); got != i {
			t.Fatalf("bucketOf(%d) = %d, want %d", lo, got, i)
		}
		if got := bucketOf(lo + w - 1); got != i {
			t.Fatalf("bucketOf(%d) = %d, want %d", lo+w-1, got, i)
		}
		if i+1 < numBuckets {
			if next, _ := bucketRange(i + 1); next != lo+w {
				t.Fatalf("bucket %d ends at %d, bucket %d starts at %d", i, lo+w, i+1, next)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var h, parts [2]Histogram
	samples := make([]time.Duration, 100_000)
	for i := range samples {
		samples[i] = time.Duration(math.Exp(rng.Float64()*20)) * time.Nanosecond
		parts[i%2].Record(samples[i])
	}
	h[0].Merge(&parts[0])
	h[0].Merge(&parts[1])
	slices.Sort(samples)
	if h[0].Count() != uint64(len(samples)) {
		t.Fatalf("Count = %d, want %d", h[0].Count(), len(samples))
	}
	for _, q := range []float64{0, 0.01, 0.5, 0.9, 0.99, 0.999, 1} {
		want := samples[max(int(q*float64(len(samples))+0.5), 1)-1]
		got := h[0].Quantile(q)
		if d := math.Abs(float64(got - want)); d > float64(want)/32+1 {
			t.Errorf("Quantile(%v) = %v, want %v within 1/32", q, got, want)
		}
	}
	if got := h[1].Quantile(0.5); got != 0 {
		t.Errorf("empty Quantile = %v, want 0", got)
	}
}

// TestClusters starts and closes each cluster the benchmarks use, writes
// and reads a key through every node, and checks that no goroutine is left.
func TestClusters(t *testing.T) {
	before, socketsBefore := runtime.NumGoroutine(), openSockets()
	for _, s := range starters {
		t.Run(s.name, func(t *testing.T) {
			c := s.start(t)
			ctx := context.Background()
			for i, n := range c.nodes {
				if err := n.set(ctx, keys()[i], []byte("v")); err != nil {
					t.Fatalf("node %d: set: %v", i, err)
				}
			}
			for i, n := range c.nodes {
				for j := range c.nodes {
					if v, err := n.get(ctx, keys()[j]); err != nil || string(v) != "v" {
						t.Fatalf("node %d: get %s = %q, %v", i, keys()[j], v, err)
					}
				}
			}
			if err := c.close(); err != nil {
				t.Fatalf("close: %v", err)
			}
		})
	}
	cli, addr, closeAll := transportPair(t)
	if _, err := cli.Call(context.Background(), addr, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := closeAll(); err != nil {
		t.Fatal(err)
	}
	// Background goroutines of closed nodes may take a moment to return.
	deadline := time.Now().Add(10 * time.Second)
	for (runtime.NumGoroutine() > before || openSockets() > socketsBefore) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before, %d after closing:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
	if n := openSockets(); n > socketsBefore {
		t.Errorf("%d sockets open before, %d after closing", socketsBefore, n)
	}
}

// openSockets counts the process's open sockets (0 where /proc is missing).
func openSockets() int {
	fds, _ := os.ReadDir("/proc/self/fd")
	n := 0
	for _, fd := range fds {
		if l, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}
