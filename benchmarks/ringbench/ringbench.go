// Package ringbench compares the placement of github.com/gridkv/gridkv/ring
// with github.com/buraksezer/consistent and with jump hash, side by side:
// lookup speed (benchmarks in bench_test.go), balance and movement (Table,
// printed by benchmarks/cmd/ringbalance).
//
// Configurations:
//
//   - ring: the zero Config (1024 points per member, replica table for N ≤ 3).
//   - consistent: xxh3 as Hasher; PartitionCount 20011 (a prime, about 200
//     partitions per member at 100 members: its balance can be no better
//     than one partition per member's share, so 271, the default, would give
//     a CV of tens of percent); ReplicationFactor 100 points per member;
//     Load 1.25, the value of its README (no member gets more than 1.25 ×
//     the average number of partitions; it panics when every member is
//     full, and a binding cap cascades partitions to unchanged members, so
//     tighter bounds trade consistency for balance). A lookup hashes the
//     key itself, so its benchmarks take keys, not hashes; GetClosestN
//     (replicas) hashes and sorts all member names on every call.
//   - jump: Lamping and Veach's jump consistent hash over the xxh3 of the
//     key. It maps to bucket numbers 0..n-1, not named members: members are
//     the buckets in the order given, so only the last one can leave without
//     renumbering the others, and it has no zones. Its replicas here are the
//     next buckets (b, b+1, b+2 mod n), the usual trick.
package ringbench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/buraksezer/consistent"
	"github.com/gridkv/gridkv/ring"
	"github.com/zeebo/xxh3"
)

// Jump is Lamping and Veach's jump consistent hash
// (https://arxiv.org/abs/1406.2294): the bucket in [0, n) of key.
func Jump(key uint64, n int) int {
	b, j := int64(-1), int64(0)
	for j < int64(n) {
		b = j
		key = key*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((key>>33)+1)))
	}
	return int(b)
}

// Hasher is xxh3 for consistent.Config.
type Hasher struct{}

// Sum64 implements consistent.Hasher.
func (Hasher) Sum64(b []byte) uint64 { return xxh3.Hash(b) }

// Node is a consistent.Member.
type Node string

// String implements consistent.Member.
func (n Node) String() string { return string(n) }

// ConsistentConfig is the configuration of consistent used throughout.
func ConsistentConfig() consistent.Config {
	return consistent.Config{Hasher: Hasher{}, PartitionCount: 20011, ReplicationFactor: 100, Load: 1.25}
}

// NewConsistent builds a consistent ring of the given members.
func NewConsistent(ids []string) *consistent.Consistent {
	ms := make([]consistent.Member, len(ids))
	for i, id := range ids {
		ms[i] = Node(id)
	}
	return consistent.New(ms, ConsistentConfig())
}

// Placement is one of the compared libraries: New builds a placement of the
// members ids and returns a function from a key (and its xxh3 hash, for
// those that take hashes) to the ID of its owner.
type Placement struct {
	Name string
	New  func(ids []string) func(key []byte, hash uint64) string
}

// Placements returns ring, consistent and jump.
func Placements() []Placement {
	return []Placement{
		{"gridkv ring", func(ids []string) func([]byte, uint64) string {
			ms := make([]ring.Member, len(ids))
			for i, id := range ids {
				ms[i] = ring.Member{ID: id}
			}
			r, err := ring.New(ms, ring.Config{})
			if err != nil {
				panic(err)
			}
			return func(_ []byte, h uint64) string { return r.Member(r.Owner(h)).ID }
		}},
		{"buraksezer/consistent", func(ids []string) func([]byte, uint64) string {
			c := NewConsistent(ids)
			return func(k []byte, _ uint64) string { return c.LocateKey(k).String() }
		}},
		{"jump hash", func(ids []string) func([]byte, uint64) string {
			return func(_ []byte, h uint64) string { return ids[Jump(h, len(ids))] }
		}},
	}
}

// IDs returns n member IDs: node-000, node-001... Fixed width, because
// consistent places member id's points at hash(id + i), and with IDs of
// different lengths node-1 + "23" and node-12 + "3" collide, losing points.
func IDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("node-%03d", i)
	}
	return ids
}

// Keys returns n random keys and their xxh3 hashes, the same for a seed.
func Keys(n int, seed uint64) ([][]byte, []uint64) {
	rng := rand.New(rand.NewPCG(seed, seed))
	keys := make([][]byte, n)
	hashes := make([]uint64, n)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key:%016x", rng.Uint64())
		hashes[i] = xxh3.Hash(keys[i])
	}
	return keys, hashes
}

// Balance returns the coefficient of variation and the max/mean of the
// number of keys per member.
func Balance(owner func([]byte, uint64) string, ids []string, keys [][]byte, hashes []uint64) (cv, maxMean float64) {
	count := make(map[string]float64, len(ids))
	for i, k := range keys {
		count[owner(k, hashes[i])]++
	}
	mean := float64(len(keys)) / float64(len(ids))
	var ss, mx float64
	for _, id := range ids {
		c := count[id]
		ss += (c - mean) * (c - mean)
		mx = max(mx, c)
	}
	return math.Sqrt(ss/float64(len(ids))) / mean, mx / mean
}

// Movement compares the owners of keys before and after a change: the
// fraction of keys that moved, and the fraction of those that moved as
// they should (check says whether a move from one owner to another is
// one the change requires).
func Movement(before, after func([]byte, uint64) string, keys [][]byte, hashes []uint64, check func(from, to string) bool) (moved, ok float64) {
	n, good := 0, 0
	for i, k := range keys {
		a, b := before(k, hashes[i]), after(k, hashes[i])
		if a != b {
			n++
			if check(a, b) {
				good++
			}
		}
	}
	if n == 0 {
		return 0, 1
	}
	return float64(n) / float64(len(keys)), float64(good) / float64(n)
}

// Table measures every placement over keys random keys and returns a
// Markdown table: balance with 10 and 100 members, keys moved when an 11th
// member joins 10 (and the share of them that went to it) or when node-003
// leaves (and the share of them that were its), and the median and minimum
// time of 5 builds of a placement of 100 members.
func Table(keys int) string { return table(keys, 10, 100, 5) }

// table is Table with small and large member counts and the number of
// builds to time (tests use a small one: consistent builds slowly under
// the race detector).
func table(keys, small, large, builds int) string {
	ks, hs := Keys(keys, 1)
	var b strings.Builder
	fmt.Fprintf(&b, "%d random keys.\n\n", keys)
	fmt.Fprintf(&b, "| placement | CV, %d members | max/mean, %d | CV, %d members | max/mean, %d | %d→%d: keys moved (ideal %.2f%%) | … of them to the new member | remove 1 of %d: keys moved (ideal ~%.0f%%) | … of them the removed one's | build, %d members: median (min) |\n",
		small, small, large, large, small, small+1, 100/float64(small+1), small, 100/float64(small), large)
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range Placements() {
		few, many := IDs(small), IDs(large)
		cvS, mmS := Balance(p.New(few), few, ks, hs)
		cvL, mmL := Balance(p.New(many), many, ks, hs)
		more := append(IDs(small), "node-new")
		addMoved, addOK := Movement(p.New(few), p.New(more), ks, hs,
			func(_, to string) bool { return to == "node-new" })
		gone := few[small/3]
		without := append(IDs(small)[:small/3:small/3], few[small/3+1:]...)
		rmMoved, rmOK := Movement(p.New(few), p.New(without), ks, hs,
			func(from, _ string) bool { return from == gone })
		build := timeBuild(p, many, builds)
		fmt.Fprintf(&b, "| %s | %.2f%% | %.3f | %.2f%% | %.3f | %.2f%% | %.1f%% | %.2f%% | %.1f%% | %s |\n",
			p.Name, 100*cvS, mmS, 100*cvL, mmL, 100*addMoved, 100*addOK, 100*rmMoved, 100*rmOK, build)
	}
	return b.String()
}

// timeBuild times builds builds and returns "median (min)": on a shared
// machine the minimum is the better estimate of the work.
func timeBuild(p Placement, ids []string, builds int) string {
	var ds []time.Duration
	for range builds {
		t0 := time.Now()
		p.New(ids)
		ds = append(ds, time.Since(t0))
	}
	slices.Sort(ds)
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	return fmt.Sprintf("%v (%v)", r(ds[len(ds)/2]), r(ds[0]))
}
