package store

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gridkv/gridkv/hlc"
)

// model is the reference: a plain map with the documented semantics.
type model struct {
	m     map[string]Entry
	grace int64
}

func (m *model) expired(e Entry, now int64) bool { return e.Expires != 0 && e.Expires <= now }

func (m *model) apply(e Entry, now int64) bool {
	if old, ok := m.m[e.Key]; ok && !e.Version.Newer(old.Version) {
		return false
	}
	if e.Tombstone || m.expired(e, now) {
		e.Tombstone, e.Value = true, nil
	} else {
		e.Value = slices.Clone(e.Value)
		if e.Value == nil {
			e.Value = []byte{}
		}
	}
	m.m[e.Key] = e
	return true
}

func (m *model) read(key string, now int64) (Entry, bool) {
	e, ok := m.m[key]
	if ok && m.expired(e, now) {
		e.Tombstone, e.Value = true, nil
	}
	return e, ok
}

// drop removes key if its version is v (Store.Drop).
func (m *model) drop(key string, v Version) bool {
	if e, ok := m.m[key]; ok && e.Version == v {
		delete(m.m, key)
		return true
	}
	return false
}

// sweep drops every tombstone past its grace (the store's Sweep does too
// when SweepBatch covers every slot).
func (m *model) sweep(now int64) {
	for k, e := range m.m {
		if !e.Tombstone && !m.expired(e, now) {
			continue
		}
		dl := e.Version.Time.WallTime() + m.grace
		if e.Expires != 0 {
			dl = e.Expires + m.grace
		}
		if dl <= now {
			delete(m.m, k)
		}
	}
}

// TestModel drives the store and the model with the same random
// operations and compares every answer.
func TestModel(t *testing.T) {
	seeds := []uint64{1, 2, 3, 1795299722809002727, uint64(time.Now().UnixNano())}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Logf("seed %d", seed)
			testModel(t, seed, 4000)
		})
	}
}

func testModel(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, seed))
	clock := newClock(1_000_000)
	const grace = 500
	s := newTest(t, &Config{Now: clock.Now, TombstoneGrace: grace * time.Millisecond, SweepBatch: 1 << 30, DigestBits: 10})
	m := &model{m: map[string]Entry{}, grace: grace}
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%d", i)
	}
	randEntry := func() Entry {
		now := clock.Now()
		e := Entry{
			Key:     keys[rng.IntN(len(keys))],
			Version: Version{Time: hlc.New(now-300+rng.Int64N(600), uint16(rng.IntN(2))), Node: NodeID(rng.IntN(3))},
		}
		switch rng.IntN(5) {
		case 0:
			e.Tombstone = true
		case 1:
			e.Expires = now - 50 + rng.Int64N(400)
			fallthrough
		default:
			e.Value = fmt.Appendf(nil, "%s@%d", e.Key, rng.IntN(1000))
		}
		return e
	}
	for step := range steps {
		now := clock.Now()
		switch op := rng.IntN(11); op {
		case 0, 1, 2, 3:
			e := randEntry()
			got, err := s.Apply(e)
			if err != nil {
				t.Fatalf("step %d: Apply: %v", step, err)
			}
			if want := m.apply(e, now); got != want {
				t.Fatalf("step %d: Apply(%+v) = %v, model %v", step, e, got, want)
			}
		case 4:
			clock.Advance(rng.Int64N(100))
		case 5:
			s.Sweep()
			m.sweep(now)
		case 6:
			k := keys[rng.IntN(len(keys))]
			got, ok := s.Get(k)
			we, wok := m.read(k, now)
			wok = wok && !we.Tombstone
			if ok != wok || ok && string(got) != string(we.Value) {
				t.Fatalf("step %d: Get(%q) = %q %v, model %q %v", step, k, got, ok, we.Value, wok)
			}
		case 7:
			k := keys[rng.IntN(len(keys))]
			got, ok := s.Read(k)
			want, wok := m.read(k, now)
			if ok != wok || ok && !sameEntry(got, want) {
				t.Fatalf("step %d: Read(%q) = %+v %v, model %+v %v", step, k, got, ok, want, wok)
			}
		case 10:
			// Drop with the stored version (or, sometimes, another one).
			k := keys[rng.IntN(len(keys))]
			ver := randEntry().Version
			if e, ok := m.m[k]; ok && rng.IntN(3) > 0 {
				ver = e.Version
			}
			if got, want := s.Drop(k, ver), m.drop(k, ver); got != want {
				t.Fatalf("step %d: Drop(%q, %v) = %v, model %v", step, k, ver, got, want)
			}
		case 8:
			r := Range{} // the full space, or an arc that may wrap around
			if rng.IntN(2) == 0 {
				r = Range{Start: rng.Uint64(), End: rng.Uint64()}
			}
			var all []Entry
			for c := (Cursor{}); !c.Done; {
				all, c = s.Scan(all, r, c, 1+rng.IntN(20))
			}
			var want []Entry
			for k := range m.m {
				if r.Contains(KeyHash(k)) {
					e, _ := m.read(k, now)
					want = append(want, e)
				}
			}
			slices.SortFunc(want, func(a, b Entry) int {
				return cmp.Or(cmp.Compare(KeyHash(a.Key)-r.Start, KeyHash(b.Key)-r.Start), cmp.Compare(a.Key, b.Key))
			})
			var versions []KeyVersion
			versions = s.Versions(versions, r)
			if len(versions) != len(want) {
				t.Fatalf("step %d: Versions(%v) returned %d, model has %d", step, r, len(versions), len(want))
			}
			for i, kv := range versions {
				if kv.Key != want[i].Key || kv.Version != want[i].Version || kv.Tombstone != want[i].Tombstone {
					t.Fatalf("step %d: Versions[%d] = %+v, model %+v", step, i, kv, want[i])
				}
			}
			if len(all) != len(want) {
				t.Fatalf("step %d: Scan(%v) returned %d entries, model has %d", step, r, len(all), len(want))
			}
			for i := range all {
				if !sameEntry(all[i], want[i]) {
					t.Fatalf("step %d: Scan[%d] = %+v, model %+v", step, i, all[i], want[i])
				}
			}
		case 9:
			// Incrementally maintained digests equal digests recomputed
			// from the model.
			r := Range{}
			if rng.IntN(2) == 0 {
				r = Range{Start: rng.Uint64(), End: rng.Uint64()}
			}
			nbits := s.cfg.DigestBits
			g := leafGeometry(r, nbits)
			leaves := make([]uint64, g.n)
			for k, e := range m.m {
				if h := KeyHash(k); r.Contains(h) {
					leaves[g.leaf(r.offset(h))] += entryDigest(h, e.Version)
				}
			}
			if got, want := s.Digest(r), buildTree(r, nbits, leaves); got.Root() != want.Root() {
				d, _ := got.Diff(want)
				t.Fatalf("step %d: Digest(%v) differs from the model in %v", step, r, d)
			}
			st := s.Stats()
			if int(st.Keys+st.Tombstones) != len(m.m) {
				t.Fatalf("step %d: Stats %d keys + %d tombstones, model %d entries", step, st.Keys, st.Tombstones, len(m.m))
			}
		}
	}
}

func sameEntry(a, b Entry) bool {
	return a.Key == b.Key && a.Version == b.Version && a.Expires == b.Expires &&
		a.Tombstone == b.Tombstone && string(a.Value) == string(b.Value) && (a.Value == nil) == (b.Value == nil)
}
