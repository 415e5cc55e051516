package store

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
)

const (
	benchKeys     = 100_000
	benchHotKeys  = 16
	benchValueLen = 100
)

// benchStore returns a store holding n keys of 16 bytes with 100-byte
// values, and the keys in a random order.
func benchStore(b *testing.B, n int) (*Store, []string) {
	b.Helper()
	s := newTest(b, nil)
	keys := make([]string, n)
	val := make([]byte, benchValueLen)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%012d", i)
		if _, err := s.Set(keys[i], val, v(1, 1), 0); err != nil {
			b.Fatal(err)
		}
	}
	rand.New(rand.NewPCG(1, 1)).Shuffle(n, func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	return s, keys
}

func benchView(b *testing.B, n int) {
	s, keys := benchStore(b, n)
	mask := len(keys) - 1
	if len(keys)&mask != 0 {
		mask = -1
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		var k string
		if mask >= 0 {
			k = keys[i&mask]
		} else {
			k = keys[i%len(keys)]
		}
		if _, ok := s.View(k); !ok {
			b.Fatal("miss")
		}
		i++
	}
}

func benchViewParallel(b *testing.B, n int) {
	s, keys := benchStore(b, n)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(len(keys))
		for pb.Next() {
			if _, ok := s.View(keys[i]); !ok {
				b.Fatal("miss")
			}
			if i++; i == len(keys) {
				i = 0
			}
		}
	})
}

// BenchmarkGetHot reads a few keys: the zero-copy path (View).
func BenchmarkGetHot(b *testing.B)         { benchView(b, benchHotKeys) }
func BenchmarkGetHotParallel(b *testing.B) { benchViewParallel(b, benchHotKeys) }

// BenchmarkGet reads 100k keys in random order: the zero-copy path (View).
func BenchmarkGet(b *testing.B)         { benchView(b, benchKeys) }
func BenchmarkGetParallel(b *testing.B) { benchViewParallel(b, benchKeys) }

// BenchmarkGetCopy is Get, which returns a private copy (one allocation).
func BenchmarkGetCopy(b *testing.B) {
	s, keys := benchStore(b, benchKeys)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Get(keys[i%len(keys)])
		i++
	}
}

// BenchmarkSet overwrites existing keys with newer versions.
func BenchmarkSet(b *testing.B) {
	s, keys := benchStore(b, benchKeys)
	val := make([]byte, benchValueLen)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if ok, err := s.Set(keys[i%len(keys)], val, v(int64(2+i), 1), 0); !ok || err != nil {
			b.Fatal(ok, err)
		}
		i++
	}
}

func BenchmarkSetParallel(b *testing.B) {
	s, keys := benchStore(b, benchKeys)
	val := make([]byte, benchValueLen)
	var ts atomic.Int64
	ts.Store(2)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(len(keys))
		for pb.Next() {
			s.Set(keys[i], val, v(ts.Add(1), 1), 0)
			if i++; i == len(keys) {
				i = 0
			}
		}
	})
}

// BenchmarkApplyStale replays writes that lose: no lock, no allocation.
func BenchmarkApplyStale(b *testing.B) {
	s, keys := benchStore(b, benchKeys)
	val := make([]byte, benchValueLen)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if ok, _ := s.Set(keys[i%len(keys)], val, v(1, 1), 0); ok {
			b.Fatal("stale write applied")
		}
		i++
	}
}

// BenchmarkSetEvicting writes new keys into a full store.
func BenchmarkSetEvicting(b *testing.B) {
	s := newTest(b, &Config{MaxBytes: 16 << 20})
	val := make([]byte, benchValueLen)
	keys := make([]string, 1<<20)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%012d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		s.Set(keys[i&(len(keys)-1)], val, v(int64(1+i), 1), 0)
		i++
	}
}

// BenchmarkDigest digests the whole space of a 100k-key store (65536
// leaves from the maintained bucket sums).
func BenchmarkDigest(b *testing.B) {
	s, _ := benchStore(b, benchKeys)
	b.ReportAllocs()
	for b.Loop() {
		s.Digest(Range{})
	}
}

// heapPerEntry fills a store with n keys of 16 bytes and values of 100
// bytes and returns heap in use per key minus the 116 payload bytes.
func heapPerEntry(tb testing.TB, n int) (overInuse, overAlloc float64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s, err := New(&Config{SweepInterval: -1})
	if err != nil {
		tb.Fatal(err)
	}
	val := make([]byte, 100)
	key := []byte("key-000000000000")
	for i := range n {
		for j, x := len(key)-1, i; j >= 4; j, x = j-1, x/10 {
			key[j] = byte('0' + x%10)
		}
		s.Set(string(key), val, v(1, 1), 0)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if st := s.Stats(); st.Keys != int64(n) {
		tb.Fatalf("%d keys stored, want %d", st.Keys, n)
	}
	overInuse = float64(after.HeapInuse-before.HeapInuse)/float64(n) - 116
	overAlloc = float64(after.HeapAlloc-before.HeapAlloc)/float64(n) - 116
	runtime.KeepAlive(s)
	s.Close()
	return overInuse, overAlloc
}

// TestHeapPerEntry: 1M keys of 16 bytes with 100-byte values cost at most
// 64 bytes of heap per key beyond the 116 payload bytes. Skipped with
// -short and under -race (the race runtime changes allocation sizes).
func TestHeapPerEntry(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("1M keys; run without -short and -race")
	}
	inuse, alloc := heapPerEntry(t, 1_000_000)
	t.Logf("heap per key beyond key+value: %.1f bytes (HeapInuse), %.1f bytes (HeapAlloc)", inuse, alloc)
	if inuse > 64 {
		t.Fatalf("%.1f bytes of overhead per key, want <= 64", inuse)
	}
}

// BenchmarkHeapPerEntry reports the same figure as a metric.
func BenchmarkHeapPerEntry(b *testing.B) {
	for b.Loop() {
		inuse, alloc := heapPerEntry(b, 1_000_000)
		b.ReportMetric(inuse, "overhead-B/key")
		b.ReportMetric(alloc, "alloc-overhead-B/key")
	}
}
