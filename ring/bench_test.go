package ring

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func benchMembers(n int) []Member {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = Member{ID: fmt.Sprintf("node-%d", i), Zone: fmt.Sprintf("zone-%d", i%3)}
	}
	return ms
}

func benchMembersNoZone(n int) []Member {
	ms := benchMembers(n)
	for i := range ms {
		ms[i].Zone = ""
	}
	return ms
}

// benchHashes is a power-of-two table of random hashes, large enough that
// lookups do not see the same hash twice in a row.
func benchHashes() []uint64 {
	rng := rand.New(rand.NewPCG(1, 2))
	hs := make([]uint64, 1<<16)
	for i := range hs {
		hs[i] = rng.Uint64()
	}
	return hs
}

func BenchmarkOwner(b *testing.B) {
	r, err := New(benchMembers(10), Config{})
	if err != nil {
		b.Fatal(err)
	}
	hs := benchHashes()
	b.ReportAllocs()
	s := 0
	i := 0
	for b.Loop() {
		s += r.Owner(hs[i&(len(hs)-1)])
		i++
	}
	_ = s
}

func BenchmarkReplicas(b *testing.B) {
	for _, zoned := range []bool{true, false} {
		ms := benchMembers(10)
		if !zoned {
			ms = benchMembersNoZone(10)
		}
		r, err := New(ms, Config{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("zones=%v", zoned), func(b *testing.B) {
			hs := benchHashes()
			dst := make([]int, 0, 3)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				dst = r.Replicas(hs[i&(len(hs)-1)], 3, dst)
				i++
			}
		})
	}
}

// BenchmarkNew builds rings with the default Points, and a 100-member one
// with Points 2048 (the build-time cost of its better balance).
func BenchmarkNew(b *testing.B) {
	for _, tc := range []struct{ n, points int }{{10, 0}, {100, 0}, {100, 2048}} {
		ms := benchMembers(tc.n)
		name := fmt.Sprint(tc.n)
		if tc.points != 0 {
			name += fmt.Sprintf("/points=%d", tc.points)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := New(ms, Config{Points: tc.points}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBaselineSortedRing is the plain consistent-hash lookup (150
// points per member, binary search) over the same members and hashes, a
// yardstick for BenchmarkOwner on a noisy machine: compare the two from
// the same run.
func BenchmarkBaselineSortedRing(b *testing.B) {
	var pts []uint64
	var own []int
	for m, mem := range benchMembers(10) {
		x := KeyHash(mem.ID)
		for range 150 {
			x += 0x9e3779b97f4a7c15
			pts = append(pts, mix64(x))
			own = append(own, m)
		}
	}
	idx := make([]int, len(pts))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(pts[a], pts[b]) })
	sorted := make([]uint64, len(pts))
	owner := make([]int, len(pts))
	for i, j := range idx {
		sorted[i], owner[i] = pts[j], own[j]
	}
	hs := benchHashes()
	b.ReportAllocs()
	s, i := 0, 0
	for b.Loop() {
		k, _ := slices.BinarySearch(sorted, hs[i&(len(hs)-1)])
		if k == len(sorted) {
			k = 0
		}
		s += owner[k]
		i++
	}
	_ = s
}

// BenchmarkDiff: a 101st member joins 100, replicas for N=3.
func BenchmarkDiff(b *testing.B) {
	old, err := New(benchMembers(100), Config{})
	if err != nil {
		b.Fatal(err)
	}
	next, err := New(benchMembers(101), Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		Diff(old, next, 3)
	}
}
