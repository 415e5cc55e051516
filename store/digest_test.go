package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gridkv/gridkv/hlc"
)

func TestLeafGeometry(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	ranges := []Range{{}, {Start: 0, End: 1 << 63}, {Start: 1<<48 + 5, End: 1 << 20}, {Start: 1, End: 2}, {Start: ^uint64(0), End: 3}}
	for range 200 {
		ranges = append(ranges, Range{Start: rng.Uint64(), End: rng.Uint64()})
	}
	for _, r := range ranges {
		for _, nbits := range []int{8, 16} {
			tr := buildTree(r, nbits, make([]uint64, leafGeometry(r, nbits).n))
			g := leafGeometry(r, nbits)
			if r == (Range{}) && g.n != 1<<nbits {
				t.Fatalf("full range with %d bits has %d leaves", nbits, g.n)
			}
			// Leaves tile the range in order, each inside one aligned bucket.
			next := r.Start
			for i := range g.n {
				lr := tr.LeafRange(i)
				if lr.Start != next {
					t.Fatalf("%v/%d: leaf %d starts at %#x, want %#x", r, nbits, i, lr.Start, next)
				}
				if lr.Start>>(64-nbits) != (lr.End-1)>>(64-nbits) {
					t.Fatalf("%v/%d: leaf %d %v crosses a bucket", r, nbits, i, lr)
				}
				if g.leaf(r.offset(lr.Start)) != i || g.leaf(r.offset(lr.End-1)) != i {
					t.Fatalf("%v/%d: leaf() disagrees with LeafRange(%d)", r, nbits, i)
				}
				next = lr.End
			}
			if next != r.End {
				t.Fatalf("%v/%d: leaves end at %#x", r, nbits, next)
			}
		}
	}
}

func TestRangeContains(t *testing.T) {
	tests := []struct {
		r    Range
		h    uint64
		want bool
	}{
		{Range{}, 0, true}, {Range{}, ^uint64(0), true},
		{Range{10, 20}, 10, true}, {Range{10, 20}, 19, true}, {Range{10, 20}, 20, false}, {Range{10, 20}, 9, false},
		{Range{20, 10}, 25, true}, {Range{20, 10}, 5, true}, {Range{20, 10}, 15, false}, {Range{20, 10}, 10, false},
		{Range{5, 5}, 1234, true},
	}
	for _, tc := range tests {
		if got := tc.r.Contains(tc.h); got != tc.want {
			t.Errorf("%v.Contains(%d) = %v", tc.r, tc.h, got)
		}
	}
}

// randomWrites returns writes to n keys, several per key, some tombstones.
func randomWrites(rng *rand.Rand, n int) []Entry {
	var ws []Entry
	for i := range n {
		k := fmt.Sprintf("k%06d", i)
		for j := range 1 + rng.IntN(3) {
			e := Entry{Key: k, Version: Version{Time: hlc.New(1000+rng.Int64N(50), uint16(j)), Node: NodeID(rng.IntN(3))}} // unique per write
			if rng.IntN(4) == 0 {
				e.Tombstone = true
			} else {
				e.Value = valueFor(k, j)
			}
			ws = append(ws, e)
		}
	}
	return ws
}

// TestDigestOrderIndependent: two stores that receive the same writes in
// different orders (with replays) have equal digests and versions; one
// extra write is found by Diff.
func TestDigestOrderIndependent(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	ws := randomWrites(rng, 3000)
	a, b := newTest(t, nil), newTest(t, nil)
	for _, e := range ws {
		mustApply(t, a, e)
	}
	shuffled := slices.Clone(ws)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, e := range append(shuffled, ws[:500]...) { // replays change nothing
		mustApply(t, b, e)
	}
	ranges := []Range{{}, {Start: 1 << 62, End: 3 << 62}, {Start: rng.Uint64(), End: rng.Uint64()}}
	for _, r := range ranges {
		ta, tb := a.Digest(r), b.Digest(r)
		if ta.Root() != tb.Root() {
			t.Fatalf("%v: roots differ after the same writes", r)
		}
		if d, err := ta.Diff(tb); err != nil || len(d) != 0 {
			t.Fatalf("%v: Diff = %v, %v", r, d, err)
		}
		if va, vb := a.Versions(nil, r), b.Versions(nil, r); !slices.Equal(va, vb) {
			t.Fatalf("%v: versions differ", r)
		}
	}

	// One newer write on b only.
	mustApply(t, b, Entry{Key: "k000123", Value: []byte("x"), Version: v(5000, 1)})
	ta, tb := a.Digest(Range{}), b.Digest(Range{})
	d, err := ta.Diff(tb)
	if err != nil || len(d) != 1 || !d[0].Contains(KeyHash("k000123")) {
		t.Fatalf("Diff = %v, %v; want the one leaf of k000123", d, err)
	}
	va, vb := a.Versions(nil, d[0]), b.Versions(nil, d[0])
	if slices.Equal(va, vb) {
		t.Fatal("versions of the differing leaf are equal")
	}
	// Expiry turns a value into a tombstone with the same version: digests
	// do not move.
	before := b.Digest(Range{}).Root()
	clock := newClock(0)
	c := newTest(t, &Config{Now: clock.Now})
	for _, e := range ws {
		e.Expires = 10
		mustApply(t, c, e)
	}
	before = c.Digest(Range{}).Root()
	clock.Advance(20)
	c.Sweep()
	if c.Stats().Expirations == 0 {
		t.Fatal("nothing expired")
	}
	if after := c.Digest(Range{}).Root(); after != before {
		t.Fatal("expiry changed the digest")
	}

	// Incomparable trees.
	if _, err := ta.Diff(a.Digest(Range{Start: 1, End: 2})); err == nil {
		t.Fatal("Diff of different ranges succeeded")
	}
}

// TestDigestFindsDiffCheaply: two big stores differing in 10 keys. Digest
// plus Diff plus Versions of the differing leaves finds exactly those keys
// and examines O(buckets + 10) entries (a few hundred), not all keys.
func TestDigestFindsDiffCheaply(t *testing.T) {
	n := 1_000_000
	if testing.Short() || raceEnabled {
		n = 50_000
	}
	a, b := newTest(t, nil), newTest(t, nil)
	val := make([]byte, 16)
	for i := range n {
		k := fmt.Sprintf("key-%09d", i)
		e := Entry{Key: k, Value: val, Version: v(1000, 1)}
		mustApply(t, a, e)
		mustApply(t, b, e)
	}
	want := map[string]bool{}
	for i := range 10 {
		k := fmt.Sprintf("key-%09d", i*(n/10)+7)
		want[k] = true
		mustApply(t, b, Entry{Key: k, Value: []byte("new"), Version: v(2000, 2)})
	}
	visited := a.Stats().Visited + b.Stats().Visited
	r := Range{Start: 12345, End: 12345} // the whole space, unaligned: two partial leaves
	ta, tb := a.Digest(r), b.Digest(r)
	diff, err := ta.Diff(tb)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, lr := range diff {
		va, vb := a.Versions(nil, lr), b.Versions(nil, lr)
		for i := range va {
			if va[i] != vb[i] {
				got[va[i].Key] = true
			}
		}
	}
	if len(got) != 10 || len(diff) > 10 {
		t.Fatalf("found %d keys in %d leaves, want the 10 changed: %v", len(got), len(diff), got)
	}
	for k := range want {
		if !got[k] {
			t.Fatalf("changed key %s not found", k)
		}
	}
	touched := a.Stats().Visited + b.Stats().Visited - visited
	perLeaf := float64(n) / float64(len(ta.Leaves()))
	t.Logf("%d keys, %d leaves, %d differing: %d entries examined (%.1f keys per leaf)", n, len(ta.Leaves()), len(diff), touched, perLeaf)
	// Walked: two partial leaves per store, and each differing leaf in both
	// stores; each walk examines the leaf's entries plus the probe cluster
	// running into it (a few dozen slots at most at our load factors).
	if limit := uint64(float64(2*2+2*10) * (perLeaf + 32)); touched > limit || touched > uint64(n/100) {
		t.Fatalf("examined %d entries, want at most %d and far below %d keys", touched, limit, n)
	}
}
