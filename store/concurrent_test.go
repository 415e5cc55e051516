package store

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridkv/gridkv/hlc"
)

// TestConcurrentSafe: writers, deleters, readers, scanners and the
// sweeper on shared keys, with a memory limit so that eviction and table
// rebuilds run too. Every value encodes its own key: reading any other
// key's value is a failure. Run with -race.
func TestConcurrentSafe(t *testing.T) {
	cfg := Config{SweepInterval: time.Millisecond, TombstoneGrace: time.Millisecond, DigestBits: 8}
	cfg.MaxBytes = fixedBytes(t, cfg) + 256<<10
	s, err := New(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const keys = 2000
	ops := 20000
	if raceEnabled {
		ops = 5000
	}
	var ts atomic.Int64
	ts.Store(time.Now().UnixMilli())
	next := func(node int) Version {
		return Version{Time: hlc.New(ts.Add(1), 0), Node: NodeID(node)}
	}
	check := func(key string, val []byte) error {
		if k, ok := keyOfValue(val); !ok || k != key {
			return fmt.Errorf("read %q: got value %q of another key", key, val)
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 4 {
		wg.Go(func() {
			for i := range ops {
				k := fmt.Sprintf("key-%d", (i*7+w*13)%keys)
				var err error
				if i%10 == 9 {
					_, err = s.Delete(k, next(w))
				} else {
					_, err = s.Set(k, valueFor(k, i), next(w), 0)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for r := range 3 {
		wg.Go(func() {
			for i := range ops {
				k := fmt.Sprintf("key-%d", (i*11+r)%keys)
				if val, ok := s.View(k); ok {
					if err := check(k, val); err != nil {
						errs <- err
						return
					}
				}
				if e, ok := s.Read(k); ok && !e.Tombstone {
					if err := check(k, e.Value); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			for c := (Cursor{}); !c.Done; {
				var page []Entry
				page, c = s.Scan(nil, Range{}, c, 64)
				for _, e := range page {
					if !e.Tombstone {
						if err := check(e.Key, e.Value); err != nil {
							errs <- err
							return
						}
					}
				}
			}
			s.Digest(Range{Start: 1 << 60, End: 1 << 61})
			s.Stats()
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Bytes > st.MaxBytes*105/100 {
		t.Fatalf("bytes %d over the limit %d", st.Bytes, st.MaxBytes)
	}
	// Counters agree with the contents.
	var live, tombs int64
	for c := (Cursor{}); !c.Done; {
		var page []Entry
		page, c = s.Scan(nil, Range{}, c, 500)
		for _, e := range page {
			if e.Tombstone {
				tombs++
			} else {
				live++
			}
		}
	}
	if st := s.Stats(); st.Keys != live || st.Tombstones != tombs {
		t.Fatalf("Stats %d keys %d tombstones, scan %d and %d", st.Keys, st.Tombstones, live, tombs)
	}
}

// TestScanExactlyOnceWhileWriting: a paged scan sees every key that exists
// for the whole scan exactly once, while other keys come and go, existing
// keys are overwritten and tables grow and shrink.
func TestScanExactlyOnceWhileWriting(t *testing.T) {
	s := newTest(t, nil)
	const stable = 20000
	for i := range stable {
		k := fmt.Sprintf("stable-%d", i)
		mustApply(t, s, Entry{Key: k, Value: valueFor(k, 0), Version: v(1000, 1)})
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Churn: grow and shrink tables with transient keys, and
				// overwrite stable ones.
				k := fmt.Sprintf("churn-%d-%d", w, i%30000)
				if i%60000 < 30000 {
					s.Set(k, valueFor(k, i), v(int64(2000+i), 1), 0)
				} else {
					s.Apply(Entry{Key: k, Version: v(int64(2000+i), 2), Tombstone: true})
				}
				sk := fmt.Sprintf("stable-%d", i%stable)
				s.Set(sk, valueFor(sk, i), v(int64(2000+i), NodeID(w+1)), 0)
			}
		})
	}
	for _, r := range []Range{{}, {Start: 3 << 62, End: 1 << 62}} { // full, and wrapped
		seen := map[string]int{}
		pages := 0
		for c := (Cursor{}); !c.Done; pages++ {
			var page []Entry
			page, c = s.Scan(nil, r, c, 37)
			for _, e := range page {
				if !r.Contains(KeyHash(e.Key)) {
					t.Fatalf("%v: key %q outside the range", r, e.Key)
				}
				seen[e.Key]++
			}
		}
		want := 0
		for i := range stable {
			k := fmt.Sprintf("stable-%d", i)
			if !r.Contains(KeyHash(k)) {
				continue
			}
			want++
			if seen[k] != 1 {
				t.Fatalf("%v: %s seen %d times", r, k, seen[k])
			}
		}
		for k, n := range seen {
			if n != 1 {
				t.Fatalf("%v: %s seen %d times", r, k, n)
			}
		}
		t.Logf("%v: %d pages, %d stable keys, %d seen", r, pages, want, len(seen))
	}
	close(stop)
	wg.Wait()
}

// TestLockFreeReadsDuringRebuilds: lock-free readers never miss a key that
// is present all along, while churn on other keys makes the tables grow,
// fill with deleted slots, and shrink again.
func TestLockFreeReadsDuringRebuilds(t *testing.T) {
	clock := newClock(1_000_000)
	s := newTest(t, &Config{Now: clock.Now, TombstoneGrace: time.Millisecond, SweepBatch: 1 << 20, DigestBits: 8})
	const stable = 512 // two per shard
	for i := range stable {
		k := fmt.Sprintf("stable-%d", i)
		mustApply(t, s, Entry{Key: k, Value: valueFor(k, 0), Version: v(1, 1)})
	}
	rounds, churn := 20, 20_000
	if raceEnabled {
		rounds, churn = 3, 5_000
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(stop)
		for r := range rounds {
			for i := range churn { // grow
				k := fmt.Sprintf("churn-%d", i)
				s.Set(k, valueFor(k, r), v(int64(10+2*r), 1), 0)
			}
			for i := range churn { // tombstones, then dropped: tables shrink
				s.Delete(fmt.Sprintf("churn-%d", i), v(int64(11+2*r), 1))
			}
			clock.Advance(10)
			s.Sweep()
		}
	})
	var misses atomic.Int64
	for range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := fmt.Sprintf("stable-%d", i%stable)
				val, ok := s.View(k)
				if !ok {
					misses.Add(1)
					continue
				}
				if kk, _ := keyOfValue(val); kk != k {
					t.Errorf("View(%q) = %q", k, val)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := misses.Load(); n != 0 {
		t.Fatalf("%d reads missed keys that were present all along", n)
	}
	if st := s.Stats(); st.Keys != stable || st.Tombstones != 0 {
		t.Fatalf("after churn: %+v", st)
	}
}
