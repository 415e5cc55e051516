package store

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gridkv/gridkv/hlc"
)

func TestEvictionKeepsLimit(t *testing.T) {
	limit := fixedBytes(t, Config{}) + 1<<20
	s := newTest(t, &Config{MaxBytes: limit})
	val := make([]byte, 100)
	n := 100_000
	if raceEnabled {
		n = 20_000
	}
	for i := range n {
		k := fmt.Sprintf("key-%d", i)
		mustApply(t, s, Entry{Key: k, Value: val, Version: v(1, 1)})
		if st := s.Stats(); st.Bytes > limit {
			t.Fatalf("after %d writes: %d bytes over the %d limit", i, st.Bytes, limit)
		}
	}
	st := s.Stats()
	if st.Evictions == 0 || st.Bytes < limit*9/10 {
		t.Fatalf("stats %+v: want evictions and a nearly full store", st)
	}
	// The charge is honest: bytes ≈ keys × (size class + index share).
	per := (st.Bytes - st.FixedBytes) / st.Keys
	if want := int64(sizeClass(entryHeader+len("key-99999")+100) + indexOverhead); n == 100_000 && per != want {
		t.Fatalf("charged %d bytes per entry, want %d", per, want)
	}
	// The last write is always kept.
	if _, ok := s.View(fmt.Sprintf("key-%d", n-1)); !ok {
		t.Fatal("the write that triggered eviction was evicted")
	}
}

// TestEvictionStorm: concurrent writers of new keys; the limit holds
// within 5% at every sample, and the heap really stays bounded.
func TestEvictionStorm(t *testing.T) {
	limit := fixedBytes(t, Config{}) + 4<<20
	s := newTest(t, &Config{MaxBytes: limit})
	n := 200_000
	if raceEnabled || testing.Short() {
		n = 15_000
	}
	var wg sync.WaitGroup
	var worst int64
	var mu sync.Mutex
	for w := range 4 {
		wg.Go(func() {
			val := make([]byte, 50+w*50)
			for i := range n {
				k := fmt.Sprintf("w%d-%d", w, i)
				if _, err := s.Set(k, val, v(int64(i+1), NodeID(w)), 0); err != nil {
					t.Error(err)
					return
				}
				if i%64 == 0 {
					b := s.Stats().Bytes
					mu.Lock()
					worst = max(worst, b)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	t.Logf("worst sampled bytes %d = %.2f%% of the limit; %+v", worst, 100*float64(worst)/float64(limit), s.Stats())
	if worst > limit*105/100 {
		t.Fatalf("bytes reached %d, more than 5%% over %d", worst, limit)
	}
	if !raceEnabled {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		t.Logf("after GC: heap in use %d bytes, live heap %d bytes, store charged %d", ms.HeapInuse, ms.HeapAlloc, s.Stats().Bytes)
		if int64(ms.HeapInuse) > 4*limit+16<<20 { // generous: test binary, goroutines, tables
			t.Fatalf("heap in use %d for a %d-byte store", ms.HeapInuse, limit)
		}
	}
}

// TestEvictionPrefersHotKeys: under skewed reads, CLOCK with frequency keeps
// the keys that are read and evicts the one-hit wonders.
func TestEvictionPrefersHotKeys(t *testing.T) {
	limit := fixedBytes(t, Config{}) + 256<<10
	s := newTest(t, &Config{MaxBytes: limit})
	val := make([]byte, 64)
	hot := make([]string, 1200)
	for i := range hot {
		hot[i] = fmt.Sprintf("hot-%d", i)
		mustApply(t, s, Entry{Key: hot[i], Value: val, Version: v(1, 1)})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	hits, reads := 0, 0
	for i := range 50_000 {
		k := fmt.Sprintf("cold-%d", i) // a scan of keys read once
		mustApply(t, s, Entry{Key: k, Value: val, Version: v(1, 1)})
		for range 2 {
			h := hot[rng.IntN(len(hot))]
			reads++
			if _, ok := s.View(h); ok {
				hits++
			} else {
				mustApply(t, s, Entry{Key: h, Value: val, Version: v(int64(2+i), 1)})
			}
		}
	}
	ratio := float64(hits) / float64(reads)
	t.Logf("hot-key hit ratio under a one-hit-wonder scan: %.3f", ratio)
	if ratio < 0.9 {
		t.Fatalf("hit ratio %.3f, want >= 0.9", ratio)
	}
}

func TestTTLAndTombstoneGrace(t *testing.T) {
	clock := newClock(1_000_000)
	s := newTest(t, &Config{Now: clock.Now, TombstoneGrace: time.Second, SweepBatch: 1 << 20})
	mustApply(t, s, Entry{Key: "ttl", Value: []byte("v"), Version: v(1_000_000, 1), Expires: 1_000_100})
	mustApply(t, s, Entry{Key: "swept", Value: []byte("v"), Version: v(1_000_000, 1), Expires: 1_000_100})
	mustApply(t, s, Entry{Key: "forever", Value: []byte("v"), Version: v(1_000_000, 1)})
	mustApply(t, s, Entry{Key: "deleted", Version: v(1_000_000, 1), Tombstone: true})

	if _, ok := s.View("ttl"); !ok {
		t.Fatal("live TTL key missing")
	}
	clock.Advance(100)
	if _, ok := s.View("ttl"); ok {
		t.Fatal("expired key readable")
	}
	st := s.Stats()
	if st.Expirations != 1 || st.Keys != 2 || st.Tombstones != 2 {
		t.Fatalf("after lazy expiry: %+v", st)
	}
	if n := s.Sweep(); n != 1 {
		t.Fatalf("Sweep changed %d entries, want 1 (the other expired key)", n)
	}
	if e, ok := s.Read("swept"); !ok || !e.Tombstone || e.Version != v(1_000_000, 1) {
		t.Fatalf("swept key = %+v %v, want a tombstone with its version", e, ok)
	}
	// Delete's tombstone: dropped a grace after its version time; expired
	// entries: a grace after their expiry.
	clock.Advance(900) // 1_001_000: deleted's deadline
	s.Sweep()
	if _, ok := s.Read("deleted"); ok {
		t.Fatal("tombstone kept past its grace")
	}
	if _, ok := s.Read("ttl"); !ok {
		t.Fatal("expired entry dropped before its grace")
	}
	clock.Advance(100)
	s.Sweep()
	if _, ok := s.Read("ttl"); ok {
		t.Fatal("expired entry kept past its grace")
	}
	st = s.Stats()
	if st.Keys != 1 || st.Tombstones != 0 || st.TombstonesDropped != 3 || st.Expirations != 2 {
		t.Fatalf("final stats %+v", st)
	}
	// After the grace an older write applies again: documented hazard.
	if !mustApply(t, s, Entry{Key: "deleted", Value: []byte("old"), Version: v(999_999, 1)}) {
		t.Fatal("write to a forgotten key refused")
	}
}

// TestSweepIsBounded: one Sweep examines at most SweepBatch slots per shard.
func TestSweepIsBounded(t *testing.T) {
	clock := newClock(1_000_000)
	s := newTest(t, &Config{Now: clock.Now, SweepBatch: 4})
	for i := range 20_000 {
		mustApply(t, s, Entry{Key: fmt.Sprint(i), Value: []byte("v"), Version: v(1, 1), Expires: 1_000_001})
	}
	clock.Advance(10)
	if n := s.Sweep(); n > 4*numShards {
		t.Fatalf("one Sweep changed %d entries, more than %d", n, 4*numShards)
	}
	total := 0
	for range 1000 {
		total += s.Sweep()
	}
	if st := s.Stats(); st.Keys != 0 {
		t.Fatalf("repeated sweeps left %d expired keys", st.Keys)
	}
}

// TestBackgroundSweeper runs the real ticker goroutine with a manual clock.
func TestBackgroundSweeper(t *testing.T) {
	clock := newClock(1_000_000)
	s := newTest(t, &Config{Now: clock.Now, SweepInterval: time.Millisecond})
	mustApply(t, s, Entry{Key: "k", Value: []byte("v"), Version: Version{Time: hlc.New(1, 0), Node: 1}, Expires: 1_000_001})
	clock.Advance(5)
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Expirations == 0 {
		if time.Now().After(deadline) {
			t.Fatal("background sweeper did not expire the key")
		}
		time.Sleep(time.Millisecond)
	}
}
