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
	s := newTest(t, &Config{Now: clock.Now, TombstoneGrace: grace * time.Millisecond, SweepBatch: 1 << 30})
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
		switch op := rng.IntN(10); op {
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
		case 8:
			var all []Entry
			for c := (Cursor{}); !c.Done; {
				all, c = s.Scan(all, Range{}, c, 1+rng.IntN(20))
			}
			var want []Entry
			for k := range m.m {
				e, _ := m.read(k, now)
				want = append(want, e)
			}
			slices.SortFunc(want, func(a, b Entry) int {
				return cmp.Or(cmp.Compare(KeyHash(a.Key), KeyHash(b.Key)), cmp.Compare(a.Key, b.Key))
			})
			if len(all) != len(want) {
				t.Fatalf("step %d: Scan returned %d entries, model has %d", step, len(all), len(want))
			}
			for i := range all {
				if !sameEntry(all[i], want[i]) {
					t.Fatalf("step %d: Scan[%d] = %+v, model %+v", step, i, all[i], want[i])
				}
			}
		case 9:
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
