package store

import (
	"fmt"
	"sync/atomic"
)

// Anti-entropy digests.
//
// The hash space is cut into 2^DigestBits aligned buckets. The store keeps,
// for every bucket, the wrapping sum of entryDigest over the bucket's entries,
// updated in O(1) on every write, eviction, expiry and removal. Digest(r)
// reads those sums for the buckets inside r (and walks only the entries of
// the at most two buckets that r cuts), then hashes them into a tree of
// fanout DigestFanout. Two replicas compare trees top-down (Tree.Diff) in
// O(buckets) at most, get the differing leaf ranges, exchange Versions for
// those ranges only, and transfer the keys whose versions differ.

// DigestFanout is the number of children of an inner node of a Tree.
const DigestFanout = 16

// Tree is a digest of a Range: Levels[0] holds the root, each level above
// the last has one hash per DigestFanout hashes of the level below, and the
// last level holds the leaves, one per bucket (clipped to Range at both
// ends) in range order. Two trees are comparable if they have the same
// Range and Bits.
type Tree struct {
	Range  Range
	Bits   int
	Levels [][]uint64
}

// Root returns the root hash: equal roots mean (with overwhelming
// probability) equal keys and versions in the range.
func (t *Tree) Root() uint64 { return t.Levels[0][0] }

// Leaves returns the leaf hashes.
func (t *Tree) Leaves() []uint64 { return t.Levels[len(t.Levels)-1] }

// LeafRange returns the hash range that leaf i covers.
func (t *Tree) LeafRange(i int) Range {
	g := leafGeometry(t.Range, t.Bits)
	lo, hi := g.leafOffsets(i)
	return Range{Start: t.Range.Start + lo, End: t.Range.Start + hi + 1}
}

// Diff returns the ranges of the leaves whose hashes differ between t and o,
// in range order. It descends only into differing subtrees.
func (t *Tree) Diff(o *Tree) ([]Range, error) {
	if t.Range != o.Range || t.Bits != o.Bits || len(t.Levels) != len(o.Levels) ||
		len(t.Leaves()) != len(o.Leaves()) {
		return nil, fmt.Errorf("%w: %v/%d vs %v/%d", ErrDigestMismatch, t.Range, t.Bits, o.Range, o.Bits)
	}
	var out []Range
	var walk func(level, i int)
	walk = func(level, i int) {
		if t.Levels[level][i] == o.Levels[level][i] {
			return
		}
		if level == len(t.Levels)-1 {
			out = append(out, t.LeafRange(i))
			return
		}
		end := min((i+1)*DigestFanout, len(t.Levels[level+1]))
		for c := i * DigestFanout; c < end; c++ {
			walk(level+1, c)
		}
	}
	walk(0, 0)
	return out, nil
}

// buildTree hashes leaves into a tree.
func buildTree(r Range, nbits int, leaves []uint64) *Tree {
	levels := [][]uint64{leaves}
	for cur := leaves; len(cur) > 1; {
		up := make([]uint64, (len(cur)+DigestFanout-1)/DigestFanout)
		for i := range up {
			h := uint64(0x243F6A8885A308D3)
			for _, c := range cur[i*DigestFanout : min((i+1)*DigestFanout, len(cur))] {
				h = mix64(h ^ c)
			}
			up[i] = h
		}
		levels = append(levels, up)
		cur = up
	}
	for i, j := 0, len(levels)-1; i < j; i, j = i+1, j-1 {
		levels[i], levels[j] = levels[j], levels[i]
	}
	return &Tree{Range: r, Bits: nbits, Levels: levels}
}

// geometry describes how a Range is cut into leaves, in offset space
// (offset 0 is Range.Start).
type geometry struct {
	width uint64 // bucket width 2^(64-bits)
	first uint64 // offset of the first bucket boundary after Start, in [1, width]
	last  uint64 // Range.last()
	n     int    // number of leaves
}

func leafGeometry(r Range, nbits int) geometry {
	g := geometry{width: 1 << (64 - nbits), last: r.last()}
	g.first = (r.Start | (g.width - 1)) + 1 - r.Start // wraps correctly at 2^64
	if g.first > g.last {
		g.n = 1
	} else {
		g.n = 2 + int((g.last-g.first)/g.width)
	}
	return g
}

// leaf returns the leaf index of offset o.
func (g geometry) leaf(o uint64) int {
	if o < g.first {
		return 0
	}
	return 1 + int((o-g.first)/g.width)
}

// leafOffsets returns the first and last offset of leaf i.
func (g geometry) leafOffsets(i int) (lo, hi uint64) {
	if i > 0 {
		lo = g.first + uint64(i-1)*g.width
	}
	hi = g.first + uint64(i)*g.width - 1
	if i == g.n-1 {
		hi = g.last
	}
	return lo, hi
}

// entryDigest is an entry's contribution to its bucket sum. It covers the
// key (through its hash) and the version, not the value (a version names
// one write) nor the tombstone flag (so an expiry, which turns an entry into
// a tombstone with the same version, does not change digests).
func entryDigest(keyHash uint64, v Version) uint64 {
	x := mix64(keyHash ^ mix64(uint64(v.Time)+0x9E3779B97F4A7C15))
	return mix64(x ^ (uint64(v.Node)+1)*0xC2B2AE3D27D4EB4F)
}

// mix64 is the splitmix64 finalizer.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	return x
}

// KeyVersion is a key's version as Versions reports it, for comparing
// replicas key by key.
type KeyVersion struct {
	Key       string
	Hash      uint64
	Version   Version
	Tombstone bool
}

// Digest returns the digest tree of r (see Tree). It reads the maintained
// bucket sums and walks only the entries of the at most two buckets that
// r's ends cut: its cost is O(buckets in r), not O(keys). Taken without a
// lock while writes go on, it is not an atomic snapshot; anti-entropy
// retries converge.
func (s *Store) Digest(r Range) *Tree {
	g := leafGeometry(r, s.cfg.DigestBits)
	leaves := make([]uint64, g.n)
	for i := range leaves {
		lo, hi := g.leafOffsets(i)
		a, b := r.Start+lo, r.Start+hi
		if hi-lo == g.width-1 {
			leaves[i] = atomic.LoadUint64(&s.shardOf(a).sums[(a>>s.bucketShift)&s.bucketMask])
			continue
		}
		var sum uint64
		s.walk(a, b, func(h uint64, p block) { sum += entryDigest(h, blkVersion(p)) })
		leaves[i] = sum
	}
	return buildTree(r, s.cfg.DigestBits, leaves)
}

// Versions appends the key, hash, version and tombstone flag of every entry
// in r to dst, in Scan order. It is meant for the small ranges of differing
// digest leaves: its cost is proportional to the entries of r.
func (s *Store) Versions(dst []KeyVersion, r Range) []KeyVersion {
	var buf []hit
	var now int64
	s.chunks(r, 0, 256, func(lo, hi uint64) bool {
		buf = s.collect(buf[:0], lo, hi)
		for _, x := range buf {
			e := s.entryOf(x.p, &now)
			dst = append(dst, KeyVersion{Key: e.Key, Hash: x.h, Version: e.Version, Tombstone: e.Tombstone})
		}
		return true
	})
	return dst
}
