package ring

import "slices"

// Range is the hash range [Start, End) of the uint64 hash space. End == 0
// stands for 2^64, so [x, 0) runs to the end of the space and [0, 0) is
// all of it. A Range never wraps: a range that crosses 2^64 is two Ranges,
// one ending at 0 (2^64) and one starting at 0.
type Range struct {
	Start, End uint64
}

// Contains reports whether hash is in r.
func (r Range) Contains(hash uint64) bool {
	return hash >= r.Start && (r.End == 0 || hash < r.End)
}

// Change is a hash range whose replica set differs between two rings.
type Change struct {
	Range Range
	// From and To are the IDs of the range's replicas in the old and new
	// ring, in replica order (owner first).
	From, To []string
}

// Diff returns the hash ranges whose set of n replicas differs between old
// and next, sorted by Start, adjacent ranges with the same From and To
// merged. Ranges where only the order of the replicas changes are not
// reported: no data has to move for them. Hashes not in any Change keep
// their replicas, so for rebalancing: for each Change, the members of To
// not in From must receive the range, and those of From not in To may drop
// it once they did.
//
// A nil ring has no members: Diff(nil, r, n) lists every range of r with
// its replicas in To (the range table of r), and Diff(r, nil, n) every
// range with its replicas in From.
//
// Diff walks both rings once: O(points) when n ≤ Config.MaxReplicas of both
// rings, and much slower beyond (each range walks the ring).
func Diff(old, next *Ring, n int) []Change {
	var out []Change
	if n <= 0 {
		return out
	}
	none := []uint64{0} // the cell starts of a nil ring
	oldPts, nextPts := none, none
	if old != nil {
		oldPts = old.pts
	}
	if next != nil {
		nextPts = next.pts
	}
	// next's members as old's indices (-1 for new ones), to compare sets.
	var remap []int
	if next != nil {
		remap = make([]int, next.Len())
		for m := range remap {
			remap[m] = -1
			if old == nil {
				continue
			}
			if k, ok := old.Index(next.members[m].ID); ok {
				remap[m] = k
			}
		}
	}
	var bufA, bufB, setB []int
	prevA, prevB := -1, -1
	i, j := 0, 0 // entries of oldPts and nextPts that own [start, ...)
	start := uint64(0)
	for {
		for i+1 < len(oldPts) && oldPts[i+1] <= start {
			i++
		}
		for j+1 < len(nextPts) && nextPts[j+1] <= start {
			j++
		}
		if i != prevA && old != nil {
			bufA = old.replicasAt(i, min(n, old.Len()), bufA)
			prevA = i
		}
		if j != prevB && next != nil {
			bufB = next.replicasAt(j, min(n, next.Len()), bufB)
			setB = setB[:0]
			for _, m := range bufB {
				setB = append(setB, remap[m])
			}
			prevB = j
		}
		// The current elementary range ends where either ring's next cell
		// begins.
		end, last := uint64(0), true
		if i+1 < len(oldPts) {
			end, last = oldPts[i+1], false
		}
		if j+1 < len(nextPts) && (last || nextPts[j+1] < end) {
			end, last = nextPts[j+1], false
		}
		if !sameMembers(bufA, setB) {
			out = appendChange(out, Range{start, end}, old, bufA, next, bufB)
		}
		if last {
			return out
		}
		start = end
	}
}

// sameMembers reports whether a and b, lists of distinct members, hold the
// same ones.
func sameMembers(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) > 8 {
		a, b = slices.Clone(a), slices.Clone(b)
		slices.Sort(a)
		slices.Sort(b)
		return slices.Equal(a, b)
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func appendChange(out []Change, rg Range, old *Ring, a []int, next *Ring, b []int) []Change {
	if k := len(out) - 1; k >= 0 && out[k].Range.End == rg.Start && out[k].Range.End != 0 &&
		sameIDs(out[k].From, old, a) && sameIDs(out[k].To, next, b) {
		out[k].Range.End = rg.End
		return out
	}
	return append(out, Change{Range: rg, From: ids(old, a), To: ids(next, b)})
}

func sameIDs(s []string, r *Ring, idx []int) bool {
	if len(s) != len(idx) {
		return false
	}
	for k, m := range idx {
		if r.members[m].ID != s[k] {
			return false
		}
	}
	return true
}

func ids(r *Ring, idx []int) []string {
	if len(idx) == 0 {
		return nil
	}
	s := make([]string, len(idx))
	for k, m := range idx {
		s[k] = r.members[m].ID
	}
	return s
}
