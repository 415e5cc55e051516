package ring

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// table places the points of each member at fixed positions, so tests read
// like a drawing of the circle.
func table(t map[string][]uint64) func(string, int) uint64 {
	return func(id string, i int) uint64 { return t[id][i] }
}

// abc is three members with two points each: A at 100 and 400, B at 200 and
// 500, C at 300 and 600. A point owns the hashes nearer to it than to its
// neighbours, so the cells start at 150, 250, 350, 450, 550, and the cell of
// A@100 wraps: it runs from halfway between 600 and 100+2^64 to 150.
func abc(t *testing.T, zones map[string]string) *Ring {
	t.Helper()
	var ms []Member
	for _, id := range []string{"C", "A", "B"} {
		ms = append(ms, Member{ID: id, Zone: zones[id]})
	}
	r, err := New(ms, Config{Points: 2, Hash: table(map[string][]uint64{
		"A": {100, 400}, "B": {200, 500}, "C": {300, 600},
	})})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func idsOf(r *Ring, idx []int) []string {
	var s []string
	for _, i := range idx {
		s = append(s, r.Member(i).ID)
	}
	return s
}

func TestPlacementInjectedHash(t *testing.T) {
	r := abc(t, nil)
	wrap := uint64(1)<<63 + 350 // 600 + (100+2^64-600)/2: start of A@100's cell
	for _, tc := range []struct {
		hash uint64
		want []string // replicas for n = 3, owner first
	}{
		{0, []string{"A", "B", "C"}},
		{100, []string{"A", "B", "C"}},
		{149, []string{"A", "B", "C"}},
		{150, []string{"B", "C", "A"}},
		{249, []string{"B", "C", "A"}},
		{250, []string{"C", "A", "B"}},
		{449, []string{"A", "B", "C"}},
		{599, []string{"C", "A", "B"}},
		{1000, []string{"C", "A", "B"}},
		{wrap - 1, []string{"C", "A", "B"}},
		{wrap, []string{"A", "B", "C"}},
		{math.MaxUint64, []string{"A", "B", "C"}},
	} {
		if got := r.Member(r.Owner(tc.hash)).ID; got != tc.want[0] {
			t.Errorf("Owner(%d) = %s, want %s", tc.hash, got, tc.want[0])
		}
		for n := 0; n <= 4; n++ {
			want := tc.want[:min(n, 3)]
			got := idsOf(r, r.Replicas(tc.hash, n, nil))
			if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })); diff != "" {
				t.Errorf("Replicas(%d, %d) mismatch (-want +got):\n%s", tc.hash, n, diff)
			}
		}
	}
}

func TestPlacementZones(t *testing.T) {
	// A and B share zone x, C is alone in y: every replica set of two
	// takes C, and C comes second where B would have.
	r := abc(t, map[string]string{"A": "x", "B": "x", "C": "y"})
	for _, tc := range []struct {
		hash uint64
		want []string
	}{
		{100, []string{"A", "C", "B"}},
		{200, []string{"B", "C", "A"}},
		{300, []string{"C", "A", "B"}},
		{400, []string{"A", "C", "B"}},
	} {
		got := idsOf(r, r.Replicas(tc.hash, 3, nil))
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Replicas(%d, 3) mismatch (-want +got):\n%s", tc.hash, diff)
		}
	}
}

func TestNewErrors(t *testing.T) {
	ok := []Member{{ID: "a"}}
	for _, tc := range []struct {
		name    string
		members []Member
		cfg     Config
		want    error
	}{
		{"no members", nil, Config{}, ErrNoMembers},
		{"empty ID", []Member{{ID: "a"}, {ID: ""}}, Config{}, ErrEmptyID},
		{"duplicate", []Member{{ID: "a"}, {ID: "b"}, {ID: "a", Zone: "z"}}, Config{}, ErrDuplicateID},
		{"negative weight", []Member{{ID: "a", Weight: -1}}, Config{}, ErrBadWeight},
		{"NaN weight", []Member{{ID: "a", Weight: math.NaN()}}, Config{}, ErrBadWeight},
		{"infinite weight", []Member{{ID: "a", Weight: math.Inf(1)}}, Config{}, ErrBadWeight},
		{"huge weight", []Member{{ID: "a", Weight: 1e12}}, Config{}, ErrTooManyPoints},
		{"too many points", []Member{{ID: "a"}, {ID: "b"}}, Config{Points: MaxPoints}, ErrTooManyPoints},
		{"negative points", ok, Config{Points: -1}, ErrBadConfig},
		{"negative replicas", ok, Config{MaxReplicas: -1}, ErrBadConfig},
		{"too many members", make([]Member, MaxMembers+1), Config{}, ErrTooManyMembers},
	} {
		r, err := New(tc.members, tc.cfg)
		if !errors.Is(err, tc.want) || r != nil {
			t.Errorf("%s: New = %v, %v; want %v", tc.name, r, err, tc.want)
		}
	}
	if _, err := New([]Member{{ID: "a", Weight: 1e-9}}, Config{}); err != nil {
		t.Errorf("a tiny weight still gets a point: %v", err)
	}
}

func TestDuplicateErrorNamesMember(t *testing.T) {
	_, err := New([]Member{{ID: "n1"}, {ID: "n1"}}, Config{})
	if want := `ring: duplicate member ID: "n1"`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func members(n int, zones int) []Member {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = Member{ID: fmt.Sprintf("node-%d", i)}
		if zones > 0 {
			ms[i].Zone = fmt.Sprintf("zone-%d", i%zones)
		}
	}
	return ms
}

func mustNew(t testing.TB, ms []Member, cfg Config) *Ring {
	t.Helper()
	r, err := New(ms, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestFindMatchesBinarySearch checks the bucket index against a plain
// binary search over the cell starts.
func TestFindMatchesBinarySearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1, 2, 10, 37} {
		for _, pts := range []int{1, 3, 100, 0} { // 0: the default
			r := mustNew(t, members(n, 0), Config{Points: pts})
			check := func(h uint64) {
				want := sort.Search(len(r.pts), func(i int) bool { return r.pts[i] > h }) - 1
				if got := r.find(h); got != want {
					t.Fatalf("n=%d pts=%d: find(%#x) = %d, want %d", n, pts, h, got, want)
				}
				if got, want := r.Owner(h), int(r.reps[want*r.rows]); got != want {
					t.Fatalf("n=%d pts=%d: Owner(%#x) = %d, want %d", n, pts, h, got, want)
				}
			}
			for _, p := range r.pts {
				for _, d := range []uint64{0, 1, 2, 1 << r.offShift, 1<<r.offShift - 1} {
					check(p + d)
					check(p - d)
				}
			}
			for b := range r.bkt {
				check(uint64(b) << r.shift)
			}
			for range 1000 {
				check(rng.Uint64())
			}
			check(math.MaxUint64)
		}
	}
}

// TestReplicasMatchReference compares the precomputed table with walk, the
// plain definition, with and without zones.
func TestReplicasMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, tc := range []struct{ n, zones, maxRep int }{
		{1, 0, 0}, {2, 0, 0}, {3, 0, 0}, {10, 0, 5}, {10, 3, 5}, {10, 2, 5},
		{10, 7, 3}, {30, 4, 8}, {7, 7, 7}, {5, 1, 2},
	} {
		ms := members(tc.n, tc.zones)
		for i := range ms {
			ms[i].Weight = float64(1 + i%3)
		}
		r := mustNew(t, ms, Config{Points: 50, MaxReplicas: tc.maxRep})
		for e := range r.pts {
			for k := 1; k <= r.rows; k++ {
				want := r.walk(e, k, nil)
				if got := r.replicasAt(e, k, nil); !slices.Equal(got, want) {
					t.Fatalf("%+v: entry %d n=%d: table %v, walk %v", tc, e, k, got, want)
				}
			}
		}
		for range 200 {
			checkReplicaRules(t, r, rng.Uint64())
		}
	}
}

// checkReplicaRules checks what Replicas promises for one hash: distinct
// members, min(n, Len()) of them, owner first, prefixes, and one member per
// zone before any zone gets a second.
func checkReplicaRules(t *testing.T, r *Ring, h uint64) {
	t.Helper()
	zones := map[string]bool{}
	for _, m := range r.members {
		zones[m.Zone] = true
	}
	all := r.Replicas(h, r.Len()+1, nil)
	if len(all) != r.Len() {
		t.Fatalf("Replicas(%#x, Len()+1) has %d members, want %d", h, len(all), r.Len())
	}
	seen := map[int]bool{}
	seenZone := map[string]bool{}
	for k, m := range all {
		if seen[m] {
			t.Fatalf("Replicas(%#x) repeats %d: %v", h, m, all)
		}
		seen[m] = true
		z := r.members[m].Zone
		if k < len(zones) && seenZone[z] {
			t.Fatalf("Replicas(%#x) = %v: zone %q twice in the first %d", h, all, z, len(zones))
		}
		seenZone[z] = true
	}
	if all[0] != r.Owner(h) {
		t.Fatalf("Replicas(%#x)[0] = %d, Owner = %d", h, all[0], r.Owner(h))
	}
	for n := 0; n <= r.Len(); n++ {
		if got := r.Replicas(h, n, nil); !slices.Equal(got, all[:n]) {
			t.Fatalf("Replicas(%#x, %d) = %v, not a prefix of %v", h, n, got, all)
		}
	}
}

func TestReplicasBeyondMaxReplicas(t *testing.T) {
	r := mustNew(t, members(8, 3), Config{Points: 20, MaxReplicas: 2})
	rng := rand.New(rand.NewPCG(3, 3))
	for range 300 {
		checkReplicaRules(t, r, rng.Uint64())
	}
	if got := r.Replicas(1, -1, []int{7}); len(got) != 0 {
		t.Errorf("Replicas(n=-1) = %v, want empty", got)
	}
}

func TestReplicasDoNotAllocate(t *testing.T) {
	r := mustNew(t, members(10, 3), Config{})
	dst := make([]int, 0, DefaultMaxReplicas)
	h := uint64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		h += 0x9e3779b97f4a7c15
		dst = r.Replicas(h, DefaultMaxReplicas, dst)
		_ = r.Owner(h)
	})
	if allocs != 0 {
		t.Errorf("Replicas and Owner allocate %v times per run", allocs)
	}
}

// TestDeterministic: the member order given to New does not matter, and
// neither do rebuilds.
func TestDeterministic(t *testing.T) {
	ms := members(25, 3)
	ms[4].Weight = 2.5
	want := mustNew(t, ms, Config{})
	rng := rand.New(rand.NewPCG(4, 4))
	for range 5 {
		shuffled := slices.Clone(ms)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got := mustNew(t, shuffled, Config{})
		if !slices.Equal(got.pts, want.pts) || !slices.Equal(got.reps, want.reps) ||
			!slices.Equal(got.idx, want.idx) || !slices.Equal(got.bkt, want.bkt) {
			t.Fatal("same members in another order give another ring")
		}
		if diff := cmp.Diff(want.Members(), got.Members()); diff != "" {
			t.Fatalf("Members mismatch (-want +got):\n%s", diff)
		}
	}
	// Pin the placement, so a change of the hash or of the point layout,
	// which would move keys between nodes of different versions, fails.
	if got := want.Member(want.Owner(KeyHash("user:42"))).ID; got != "node-3" {
		t.Errorf("owner of user:42 = %s; placement changed", got)
	}
	if KeyHash("user:42") != 0x9fc1e605fa7174aa {
		t.Errorf("KeyHash(user:42) = %#x; key hashing changed", KeyHash("user:42"))
	}
}

func TestMembersIndex(t *testing.T) {
	r := mustNew(t, []Member{{ID: "b", Zone: "z1"}, {ID: "a", Weight: 2}, {ID: "c"}}, Config{Points: 4})
	want := []Member{{ID: "a", Weight: 2}, {ID: "b", Zone: "z1"}, {ID: "c"}}
	if diff := cmp.Diff(want, r.Members()); diff != "" {
		t.Errorf("Members mismatch (-want +got):\n%s", diff)
	}
	r.Members()[0].ID = "changed"
	if r.Member(0).ID != "a" || r.Len() != 3 {
		t.Error("Members shares the ring's slice")
	}
	for i, m := range want {
		if k, ok := r.Index(m.ID); !ok || k != i {
			t.Errorf("Index(%s) = %d, %v; want %d", m.ID, k, ok, i)
		}
	}
	if k, ok := r.Index("zz"); ok || k != -1 {
		t.Error("Index found a missing member")
	}
}

// keyStats is the coefficient of variation and the max/mean of the number
// of keys per member, over keys random hashes.
func keyStats(r *Ring, keys int, seed uint64) (cv, maxMean float64) {
	counts := make([]float64, r.Len())
	rng := rand.New(rand.NewPCG(seed, seed))
	for range keys {
		counts[r.Owner(rng.Uint64())]++
	}
	mean := float64(keys) / float64(len(counts))
	var ss, mx float64
	for _, c := range counts {
		ss += (c - mean) * (c - mean)
		mx = max(mx, c)
	}
	return math.Sqrt(ss/float64(len(counts))) / mean, mx / mean
}

// TestBalance asserts the balance targets with the default Config: over 1M
// random keys, CV of keys per member ≤ 3% and max/mean ≤ 1.08.
func TestBalance(t *testing.T) {
	for _, n := range []int{10, 100} {
		r := mustNew(t, members(n, 0), Config{}) // zones order replicas, not owners
		cv, mm := keyStats(r, 1_000_000, 5)
		t.Logf("%d members: CV %.2f%%, max/mean %.3f", n, 100*cv, mm)
		if cv > 0.03 || mm > 1.08 {
			t.Errorf("%d members: CV %.2f%% (want ≤ 3%%), max/mean %.3f (want ≤ 1.08)", n, 100*cv, mm)
		}
	}
}

// TestTableStats checks two figures the package doc quotes, for the
// default Config and IDs node-0...: the share of hashes Owner answers from
// the bucket table alone (buckets where at most one cell starts; buckets
// are equal slices of the hash space), and the bytes per point of pts,
// reps, idx and bkt.
func TestTableStats(t *testing.T) {
	for _, tc := range []struct {
		n               int
		minDirect, maxB float64
	}{{10, 0.92, 34}, {100, 0.87, 30}} {
		r := mustNew(t, members(tc.n, 0), Config{})
		direct := 0
		for _, b := range r.bkt {
			if b>>48 != multiCells {
				direct++
			}
		}
		share := float64(direct) / float64(len(r.bkt))
		bytes := len(r.pts)*8 + len(r.reps)*2 + len(r.idx)*4 + len(r.bkt)*8
		perPoint := float64(bytes) / float64(len(r.pts))
		t.Logf("%d members: Owner from the table for %.1f%% of hashes; %.2f MB, %.1f bytes per point",
			tc.n, 100*share, float64(bytes)/1e6, perPoint)
		if share < tc.minDirect || perPoint > tc.maxB {
			t.Errorf("%d members: table answers %.3f of hashes (want ≥ %.2f), %.1f bytes per point (want ≤ %.0f)",
				tc.n, share, tc.minDirect, perPoint, tc.maxB)
		}
	}
}

func TestWeights(t *testing.T) {
	ms := members(10, 0)
	ms[0].Weight = 3
	ms[1].Weight = 0.5
	r := mustNew(t, ms, Config{})
	counts := make([]float64, r.Len())
	rng := rand.New(rand.NewPCG(6, 6))
	const keys = 500_000
	for range keys {
		counts[r.Owner(rng.Uint64())]++
	}
	unit := keys / 11.5 // total weight 3 + 0.5 + 8
	for i, want := range map[int]float64{0: 3 * unit, 1: 0.5 * unit, 2: unit} {
		k, _ := r.Index(ms[i].ID)
		if got := counts[k]; math.Abs(got-want)/want > 0.06 {
			t.Errorf("member %s (weight %v) has %.0f keys, want about %.0f", ms[i].ID, ms[i].Weight, got, want)
		}
	}
}

// TestMovement: adding an 11th member moves at most 1.05/11 of the keys,
// all to it; removing one moves only its keys.
func TestMovement(t *testing.T) {
	const keys = 1_000_000
	base := mustNew(t, members(10, 0), Config{})
	more := mustNew(t, append(members(10, 0), Member{ID: "node-new"}), Config{})
	fewer := mustNew(t, members(10, 0)[1:], Config{})
	newIdx, _ := more.Index("node-new")
	rng := rand.New(rand.NewPCG(7, 7))
	added, removed := 0, 0
	for range keys {
		h := rng.Uint64()
		was := base.Member(base.Owner(h)).ID
		if now := more.Member(more.Owner(h)).ID; now != was {
			added++
			if more.Owner(h) != newIdx {
				t.Fatalf("adding a member moved %#x from %s to %s", h, was, now)
			}
		}
		if now := fewer.Member(fewer.Owner(h)).ID; now != was {
			removed++
			if was != "node-0" {
				t.Fatalf("removing node-0 moved %#x from %s to %s", h, was, now)
			}
		}
	}
	frac := float64(added) / keys
	t.Logf("adding an 11th member moved %.2f%% of keys (1/11 = %.2f%%); removing one moved %.2f%%",
		100*frac, 100.0/11, 100*float64(removed)/keys)
	if frac > 1.05/11 {
		t.Errorf("adding an 11th member moved %.2f%% of keys, want ≤ %.2f%%", 100*frac, 105.0/11)
	}
}

// TestDiff compares Diff with the replica sets of both rings at many
// hashes: random ones and every range and cell boundary (±1).
func TestDiff(t *testing.T) {
	ms := members(12, 3)
	addOne := append(slices.Clone(ms), Member{ID: "node-new", Zone: "zone-1"})
	rezoned := slices.Clone(ms)
	rezoned[3].Zone = "zone-9"
	reweighted := slices.Clone(ms)
	reweighted[5].Weight = 2
	cases := []struct {
		name      string
		old, next []Member
	}{
		{"same", ms, ms},
		{"add", ms, addOne},
		{"remove", addOne, ms},
		{"remove two", ms, ms[2:]},
		{"rezone", ms, rezoned},
		{"reweight", ms, reweighted},
		{"replace all", ms[:1], []Member{{ID: "other"}}},
		{"grow from one", ms[:1], ms[:4]},
	}
	rng := rand.New(rand.NewPCG(8, 8))
	for _, tc := range cases {
		for _, n := range []int{1, 3, 5, 20} {
			cfg := Config{Points: 40, MaxReplicas: 3} // n = 5 and 20 take the walk
			a, b := mustNew(t, tc.old, cfg), mustNew(t, tc.next, cfg)
			changes := Diff(a, b, n)
			var probes []uint64
			for _, c := range changes {
				probes = append(probes, c.Range.Start, c.Range.Start-1, c.Range.End, c.Range.End-1)
			}
			for _, r := range []*Ring{a, b} {
				for _, p := range r.pts {
					probes = append(probes, p, p-1, p+1)
				}
			}
			for range 3000 {
				probes = append(probes, rng.Uint64())
			}
			for _, h := range probes {
				from := idsOf(a, a.Replicas(h, n, nil))
				to := idsOf(b, b.Replicas(h, n, nil))
				var in *Change
				for k := range changes {
					if changes[k].Range.Contains(h) {
						if in != nil {
							t.Fatalf("%s n=%d: %#x in two changes", tc.name, n, h)
						}
						in = &changes[k]
					}
				}
				differ := !sameSet(from, to)
				if differ != (in != nil) {
					t.Fatalf("%s n=%d: hash %#x: replicas %v → %v, but in a change: %v", tc.name, n, h, from, to, in != nil)
				}
				if in != nil && (!slices.Equal(in.From, from) || !slices.Equal(in.To, to)) {
					t.Fatalf("%s n=%d: hash %#x: change says %v → %v, rings say %v → %v", tc.name, n, h, in.From, in.To, from, to)
				}
			}
			for k, c := range changes {
				if c.Range.End != 0 && c.Range.End <= c.Range.Start {
					t.Fatalf("%s n=%d: empty or wrapping range %+v", tc.name, n, c.Range)
				}
				if k > 0 && (changes[k-1].Range.End == 0 || changes[k-1].Range.End > c.Range.Start) {
					t.Fatalf("%s n=%d: ranges out of order: %+v then %+v", tc.name, n, changes[k-1].Range, c.Range)
				}
			}
			if tc.name == "same" && len(changes) != 0 {
				t.Fatalf("Diff of a ring with itself: %d changes", len(changes))
			}
			if tc.name == "replace all" && (len(changes) != 1 || changes[0].Range != (Range{0, 0})) {
				t.Fatalf("replacing every member: changes %+v, want the whole space", changes)
			}
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestDiffMovedFraction: with n = 1, the ranges Diff reports when an 11th
// member joins add up to the fraction of keys whose owner moves.
func TestDiffMovedFraction(t *testing.T) {
	a := mustNew(t, members(10, 0), Config{})
	b := mustNew(t, append(members(10, 0), Member{ID: "node-new"}), Config{})
	total := 0.0
	for _, c := range Diff(a, b, 1) {
		total += rangeSize(c.Range) / math.Exp2(64)
		if len(c.To) != 1 || c.To[0] != "node-new" {
			t.Fatalf("change %+v does not move to the new member", c)
		}
	}
	if total < 0.8/11 || total > 1.05/11 {
		t.Errorf("Diff moves %.2f%% of the hash space, want about 1/11", 100*total)
	}
}

// rangeSize is the number of hashes in r: End-Start modulo 2^64 (End 0 is
// 2^64), except for [0, 0), all of them.
func rangeSize(r Range) float64 {
	if r.Start == 0 && r.End == 0 {
		return math.Exp2(64)
	}
	return float64(r.End - r.Start)
}

func TestRangeContains(t *testing.T) {
	for _, tc := range []struct {
		r    Range
		h    uint64
		want bool
	}{
		{Range{10, 20}, 9, false},
		{Range{10, 20}, 10, true},
		{Range{10, 20}, 19, true},
		{Range{10, 20}, 20, false},
		{Range{10, 0}, math.MaxUint64, true},
		{Range{10, 0}, 9, false},
		{Range{0, 0}, 0, true},
		{Range{0, 0}, math.MaxUint64, true},
	} {
		if got := tc.r.Contains(tc.h); got != tc.want {
			t.Errorf("%+v.Contains(%d) = %v, want %v", tc.r, tc.h, got, tc.want)
		}
	}
}

// TestRingConcurrentSafe swaps rings under readers, as a node does on
// membership changes; run with -race.
func TestRingConcurrentSafe(t *testing.T) {
	var cur atomic.Pointer[Ring]
	cur.Store(mustNew(t, members(5, 0), Config{Points: 64}))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 4 {
		wg.Go(func() {
			dst := make([]int, 0, 3)
			h := uint64(g)
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := cur.Load()
				h += 0x9e3779b97f4a7c15
				dst = r.Replicas(h, 3, dst)
				if len(dst) != 3 || dst[0] != r.Owner(h) {
					t.Errorf("inconsistent lookup: %v", dst)
					return
				}
			}
		})
	}
	for i := range 20 {
		cur.Store(mustNew(t, members(5+i%3, 0), Config{Points: 64}))
	}
	close(stop)
	wg.Wait()
}

// exactShares is each member's share of the hash space, from the cells.
func exactShares(r *Ring) []float64 {
	sh := make([]float64, r.Len())
	for e, p := range r.pts {
		end := uint64(0)
		if e+1 < len(r.pts) {
			end = r.pts[e+1]
		}
		sh[r.reps[e*r.rows]] += float64(end-p) / math.Exp2(64)
	}
	return sh
}

// TestBalanceRandomIDs: the balance does not depend on lucky IDs. For
// random sets of IDs (a few, to stay fast under -race), the exact shares of the hash space (no key sampling
// noise) stay within CV ≤ 3% and max/mean ≤ 1.07.
func TestBalanceRandomIDs(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, tc := range []struct{ n, sets int }{{10, 10}, {100, 4}} {
		n := tc.n
		worstCV, worstMM := 0.0, 0.0
		for range tc.sets {
			ms := make([]Member, n)
			for i := range ms {
				ms[i] = Member{ID: fmt.Sprintf("%x", rng.Uint64())}
			}
			sh := exactShares(mustNew(t, ms, Config{}))
			mean := 1 / float64(n)
			var ss, mx float64
			for _, s := range sh {
				ss += (s - mean) * (s - mean)
				mx = max(mx, s)
			}
			worstCV = max(worstCV, math.Sqrt(ss/float64(n))/mean)
			worstMM = max(worstMM, mx/mean)
		}
		t.Logf("%d members, worst of %d ID sets: CV %.2f%%, max/mean %.3f", n, tc.sets, 100*worstCV, worstMM)
		if worstCV > 0.03 || worstMM > 1.07 {
			t.Errorf("%d members: worst CV %.2f%%, max/mean %.3f", n, 100*worstCV, worstMM)
		}
	}
}

// TestDiffNil: a nil ring has no members, so Diff from or to it is the
// range table of the other ring.
func TestDiffNil(t *testing.T) {
	r := abc(t, nil)
	want := []Change{
		{Range{0, 150}, nil, []string{"A", "B"}},
		{Range{150, 250}, nil, []string{"B", "C"}},
		{Range{250, 350}, nil, []string{"C", "A"}},
		{Range{350, 450}, nil, []string{"A", "B"}},
		{Range{450, 550}, nil, []string{"B", "C"}},
		{Range{550, 1<<63 + 350}, nil, []string{"C", "A"}},
		{Range{1<<63 + 350, 0}, nil, []string{"A", "B"}},
	}
	if diff := cmp.Diff(want, Diff(nil, r, 2)); diff != "" {
		t.Errorf("Diff(nil, r) mismatch (-want +got):\n%s", diff)
	}
	for i := range want {
		want[i].From, want[i].To = want[i].To, nil
	}
	if diff := cmp.Diff(want, Diff(r, nil, 2)); diff != "" {
		t.Errorf("Diff(r, nil) mismatch (-want +got):\n%s", diff)
	}
	if got := Diff(nil, nil, 3); len(got) != 0 {
		t.Errorf("Diff(nil, nil) = %v", got)
	}
}

// TestDegenerateHash: an injected hash that puts every point on the same
// spot (or on bucket edges) still gives a working ring.
func TestDegenerateHash(t *testing.T) {
	for _, h := range []func(string, int) uint64{
		func(string, int) uint64 { return 42 },
		func(string, int) uint64 { return 0 },
		func(string, int) uint64 { return math.MaxUint64 },
		func(id string, i int) uint64 { return uint64(i%4) << 62 }, // bucket edges
	} {
		r := mustNew(t, members(6, 2), Config{Points: 40, Hash: h})
		for _, x := range []uint64{0, 1, 41, 42, 43, 1 << 62, 1<<62 - 1, 1 << 63, math.MaxUint64} {
			checkReplicaRules(t, r, x)
			want := sort.Search(len(r.pts), func(i int) bool { return r.pts[i] > x }) - 1
			if got := r.find(x); got != want {
				t.Fatalf("find(%#x) = %d, want %d", x, got, want)
			}
		}
		if len(Diff(r, r, 3)) != 0 {
			t.Fatal("Diff of a ring with itself is not empty")
		}
	}
}

// TestBalanceManyIDSets reproduces the figures of the package doc: the
// worst balance over 100 random sets of IDs, exact shares plus simulated
// sampling noise of 1M keys, for 1024 and 2048 points. It takes a while:
// RING_STATS=1 go test -run BalanceManyIDSets -v.
func TestBalanceManyIDSets(t *testing.T) {
	if os.Getenv("RING_STATS") == "" {
		t.Skip("set RING_STATS=1 to run")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, points := range []int{1024, 2048} {
		for _, n := range []int{10, 100} {
			var cvs, mms []float64
			for range 100 {
				ms := make([]Member, n)
				for i := range ms {
					ms[i] = Member{ID: fmt.Sprintf("n%x", rng.Uint64())}
				}
				var s, s2, mx float64
				for _, sh := range exactShares(mustNew(t, ms, Config{Points: points})) {
					k := sh*1e6 + rng.NormFloat64()*math.Sqrt(sh*1e6) // binomial ≈ normal
					s, s2, mx = s+k, s2+k*k, max(mx, k)
				}
				mean := s / float64(n)
				cvs = append(cvs, math.Sqrt(s2/float64(n)-mean*mean)/mean)
				mms = append(mms, mx/mean)
			}
			slices.Sort(cvs)
			slices.Sort(mms)
			t.Logf("Points=%d, %d members: CV median %.2f%% worst %.2f%%; max/mean median %.3f worst %.3f",
				points, n, 100*cvs[50], 100*cvs[99], mms[50], mms[99])
		}
	}
}

// TestParallelBuild: building on two goroutines gives the same ring as on
// one.
func TestParallelBuild(t *testing.T) {
	for _, ms := range [][]Member{members(40, 0), members(40, 3), members(7, 7), members(3, 0)} {
		ms[1].Weight = 1.5
		r := mustNew(t, ms, Config{Points: 300})
		counts := make([]int, r.Len())
		for i, m := range r.members {
			counts[i] = max(1, int(math.Round(max(m.Weight, 0)*300)))
			if m.Weight == 0 {
				counts[i] = 300
			}
		}
		var built [2]*Ring
		for w := range built {
			built[w] = &Ring{members: r.members, zone: r.zone, nzones: r.nzones, rows: r.rows}
			built[w].build(counts, nil, w+1)
		}
		one, two := built[0], built[1]
		if !slices.Equal(one.pts, two.pts) || !slices.Equal(one.reps, two.reps) ||
			!slices.Equal(one.idx, two.idx) || !slices.Equal(one.bkt, two.bkt) {
			t.Fatalf("%d members: one and two workers build different rings", len(ms))
		}
		if !slices.Equal(one.pts, r.pts) || !slices.Equal(one.reps, r.reps) {
			t.Fatalf("%d members: build differs from New", len(ms))
		}
	}
}
