package store

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gridkv/gridkv/hlc"
)

func TestDrop(t *testing.T) {
	const now = 1_000_000
	tests := []struct {
		name   string
		stored *Entry // nil: the key was never written
		drop   Version
		want   bool
	}{
		{name: "value, same version", stored: &Entry{Value: []byte("v"), Version: v(now-10, 1)}, drop: v(now-10, 1), want: true},
		{name: "tombstone, same version", stored: &Entry{Tombstone: true, Version: v(now-10, 1)}, drop: v(now-10, 1), want: true},
		{name: "expired value, its version", stored: &Entry{Value: []byte("v"), Version: v(now-10, 1), Expires: now - 5}, drop: v(now-10, 1), want: true},
		{name: "value with a TTL, its version", stored: &Entry{Value: []byte("v"), Version: v(now-10, 1), Expires: now + 5000}, drop: v(now-10, 1), want: true},
		{name: "newer write kept", stored: &Entry{Value: []byte("v"), Version: v(now-5, 1)}, drop: v(now-10, 1), want: false},
		{name: "older stored version kept", stored: &Entry{Value: []byte("v"), Version: v(now-10, 1)}, drop: v(now-5, 1), want: false},
		{name: "same time, other node kept", stored: &Entry{Value: []byte("v"), Version: v(now-10, 2)}, drop: v(now-10, 1), want: false},
		{name: "same wall time, other logical kept", stored: &Entry{Value: []byte("v"), Version: Version{Time: hlc.New(now-10, 1), Node: 1}}, drop: v(now-10, 1), want: false},
		{name: "missing key", drop: v(now-10, 1), want: false},
		{name: "zero version", stored: &Entry{Value: []byte("v"), Version: v(now-10, 1)}, drop: Version{}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTest(t, &Config{Now: newClock(now).Now, DigestBits: 8})
			// A neighbour that stays, so digests and counters are checked
			// against a store that is not empty.
			other := Entry{Key: "other", Value: []byte("o"), Version: v(now-1, 3)}
			mustApply(t, s, other)
			if tt.stored != nil {
				e := *tt.stored
				e.Key = "k"
				mustApply(t, s, e)
			}
			before := s.Stats()
			got := s.Drop("k", tt.drop)
			if got != tt.want {
				t.Fatalf("Drop = %v, want %v", got, tt.want)
			}
			after := s.Stats()
			// The reference: a fresh store with what must remain.
			ref := newTest(t, &Config{Now: newClock(now).Now, DigestBits: 8})
			mustApply(t, ref, other)
			if !tt.want && tt.stored != nil {
				e := *tt.stored
				e.Key = "k"
				mustApply(t, ref, e)
			}
			rs := ref.Stats()
			if after.Keys != rs.Keys || after.Tombstones != rs.Tombstones || after.Bytes != rs.Bytes {
				t.Errorf("after Drop: %d keys, %d tombstones, %d bytes; want %d, %d, %d (before: %d, %d, %d)",
					after.Keys, after.Tombstones, after.Bytes, rs.Keys, rs.Tombstones, rs.Bytes, before.Keys, before.Tombstones, before.Bytes)
			}
			if wantRemoved := map[bool]uint64{true: 1, false: 0}[tt.want]; after.Removed != wantRemoved {
				t.Errorf("Stats.Removed = %d, want %d", after.Removed, wantRemoved)
			}
			if got, want := s.Digest(Range{}).Root(), ref.Digest(Range{}).Root(); got != want {
				t.Errorf("digest after Drop differs from a store that never held what was dropped")
			}
			e, ok := s.Read("k")
			if tt.want && ok {
				t.Errorf("Read after Drop = %+v, want nothing", e)
			}
			if !tt.want && tt.stored != nil && (!ok || e.Version != tt.stored.Version) {
				t.Errorf("Read after a refused Drop = %+v %v, want version %v", e, ok, tt.stored.Version)
			}
			if tt.want {
				// No tombstone: any version is accepted again, even an older one.
				if !mustApply(t, s, Entry{Key: "k", Value: []byte("old"), Version: v(now-100, 1)}) {
					t.Error("an older write was refused after Drop: a tombstone or the entry stayed")
				}
			}
			if e, ok := s.Read("other"); !ok || e.Version != other.Version {
				t.Errorf("the neighbour changed: %+v %v", e, ok)
			}
		})
	}
}

// Dropping every other key leaves the digests, versions and counters of a
// store that only ever held the others, across table shrinks.
func TestDropDigestConsistency(t *testing.T) {
	const now = 1_000_000
	s := newTest(t, &Config{Now: newClock(now).Now, DigestBits: 10})
	ref := newTest(t, &Config{Now: newClock(now).Now, DigestBits: 10})
	const n = 5000
	for i := range n {
		e := Entry{Key: fmt.Sprintf("key-%d", i), Value: valueFor("key", i), Version: v(now-int64(i%500), NodeID(i%3+1))}
		if i%7 == 0 {
			e.Value, e.Tombstone = nil, true
		}
		mustApply(t, s, e)
		if i%2 == 1 {
			mustApply(t, ref, e)
		}
	}
	for i := 0; i < n; i += 2 {
		k := fmt.Sprintf("key-%d", i)
		e, _ := s.Read(k)
		if !s.Drop(k, e.Version) {
			t.Fatalf("Drop(%q, %v) = false", k, e.Version)
		}
		if s.Drop(k, e.Version) {
			t.Fatalf("second Drop(%q) = true", k)
		}
	}
	for _, r := range []Range{{}, {Start: 1 << 62, End: 1 << 63}, {Start: 12345, End: 1 << 40}} {
		a, b := s.Digest(r), ref.Digest(r)
		if d, err := a.Diff(b); err != nil || len(d) != 0 {
			t.Errorf("Digest(%v) differs from the reference in %d leaves (%v)", r, len(d), err)
		}
		va, vb := s.Versions(nil, r), ref.Versions(nil, r)
		if len(va) != len(vb) {
			t.Fatalf("Versions(%v): %d entries, reference %d", r, len(va), len(vb))
		}
		for i := range va {
			if va[i] != vb[i] {
				t.Fatalf("Versions(%v)[%d] = %+v, reference %+v", r, i, va[i], vb[i])
			}
		}
	}
	st, rt := s.Stats(), ref.Stats()
	if st.Keys != rt.Keys || st.Tombstones != rt.Tombstones || st.Removed != n/2 {
		t.Errorf("Stats: %d keys %d tombstones %d removed; reference %d keys %d tombstones, want %d removed", st.Keys, st.Tombstones, st.Removed, rt.Keys, rt.Tombstones, n/2)
	}
	// The store's charge shrinks with its tables; it must not exceed the
	// reference by more than the index slack of a table not rebuilt.
	if st.Bytes < rt.Bytes {
		t.Errorf("Stats.Bytes %d below a store that holds the same entries (%d)", st.Bytes, rt.Bytes)
	}
	// Dropping the rest empties the store back to its fixed charge.
	for i := 1; i < n; i += 2 {
		k := fmt.Sprintf("key-%d", i)
		e, _ := s.Read(k)
		s.Drop(k, e.Version)
	}
	if st := s.Stats(); st.Keys != 0 || st.Tombstones != 0 || st.Bytes != st.FixedBytes {
		t.Errorf("after dropping everything: %d keys, %d tombstones, %d bytes (fixed %d)", st.Keys, st.Tombstones, st.Bytes, st.FixedBytes)
	}
}

func TestDropClosed(t *testing.T) {
	s := newTest(t, nil)
	mustApply(t, s, Entry{Key: "k", Value: []byte("v"), Version: v(1, 1)})
	s.Close()
	if s.Drop("k", v(1, 1)) {
		t.Error("Drop on a closed store = true")
	}
	if _, ok := s.Read("k"); !ok {
		t.Error("a closed store lost an entry")
	}
}

// Writers raise versions while droppers drop what they read: a Drop never
// removes a version other than the one it names (a newer write survives),
// and counters, digests and contents agree at the end.
func TestDropConcurrent(t *testing.T) {
	s := newTest(t, &Config{DigestBits: 8})
	const keys = 8 // contention: writes land between a Drop's check and its lock
	ops := 20000
	if raceEnabled {
		ops = 4000
	}
	var ts atomic.Int64
	ts.Store(1_000_000)
	var wg sync.WaitGroup
	var dropped atomic.Int64
	errs := make(chan error, 8)
	for w := range 2 {
		wg.Go(func() {
			for i := range ops {
				k := fmt.Sprintf("key-%d", (i*7+w)%keys)
				ver := Version{Time: hlc.New(ts.Add(1), 0), Node: NodeID(w + 1)}
				var err error
				if i%5 == 4 {
					_, err = s.Delete(k, ver)
				} else {
					_, err = s.Set(k, valueFor(k, i), ver, 0)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for d := range 2 {
		wg.Go(func() {
			for i := range ops {
				k := fmt.Sprintf("key-%d", (i*13+d)%keys)
				e, ok := s.Read(k)
				if !ok {
					continue
				}
				if s.Drop(k, e.Version) {
					dropped.Add(1)
					// Whatever is there now was written after the drop:
					// never the dropped version.
					if now, ok := s.Read(k); ok && now.Version == e.Version {
						errs <- fmt.Errorf("key %q: version %v still stored after Drop", k, e.Version)
						return
					}
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			s.Digest(Range{})
			for c := (Cursor{}); !c.Done; {
				_, c = s.Scan(nil, Range{}, c, 50)
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if dropped.Load() == 0 {
		t.Fatal("no Drop succeeded: the test exercises nothing")
	}
	// Counters and digests agree with the contents: rebuild a reference
	// from a scan.
	ref := newTest(t, &Config{DigestBits: 8})
	var live, tombs int64
	for c := (Cursor{}); !c.Done; {
		var page []Entry
		page, c = s.Scan(nil, Range{}, c, 100)
		for _, e := range page {
			mustApply(t, ref, e)
			if e.Tombstone {
				tombs++
			} else {
				live++
			}
		}
	}
	st := s.Stats()
	if st.Keys != live || st.Tombstones != tombs || st.Removed != uint64(dropped.Load()) {
		t.Errorf("Stats %d keys %d tombstones %d removed; scan %d and %d, %d drops", st.Keys, st.Tombstones, st.Removed, live, tombs, dropped.Load())
	}
	if s.Digest(Range{}).Root() != ref.Digest(Range{}).Root() {
		t.Error("digest differs from a store rebuilt from the contents")
	}
}
