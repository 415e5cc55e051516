package ring

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/zeebo/xxh3"
)

// Defaults and limits.
const (
	// DefaultPoints is the number of points a member of weight 1 gets when
	// Config.Points is zero. See the package documentation for the balance
	// it gives.
	DefaultPoints = 1024
	// DefaultMaxReplicas is Config.MaxReplicas when it is zero.
	DefaultMaxReplicas = 3
	// MaxMembers is the largest number of members in a ring.
	MaxMembers = math.MaxUint16
	// MaxPoints bounds the total number of points (about 30 bytes each with
	// the default MaxReplicas).
	MaxPoints = 1 << 25
)

// Member is a node of the ring.
type Member struct {
	// ID names the member; it must be unique and not empty. Placement
	// depends on it only, so a node keeps its keys across restarts if it
	// keeps its ID.
	ID string
	// Zone is the failure domain (rack, availability zone). Replica sets
	// take one member per zone before they take a second one from any zone.
	// Members with an empty Zone are all in the same (unnamed) zone.
	Zone string
	// Weight scales the member's share of the keys; 0 means 1. A member of
	// weight 2 gets twice as many points as one of weight 1.
	Weight float64
}

// Config tunes a ring. The zero value is the recommended configuration.
// Every node must use the same Points and Hash, or rings differ between
// nodes; MaxReplicas only sizes the lookup table.
type Config struct {
	// Points is the number of points a member of weight 1 gets on the hash
	// circle; 0 means DefaultPoints. The spread of keys per member falls
	// as 1/sqrt(2·Points); memory and build time grow with it.
	Points int
	// MaxReplicas is the largest n for which Replicas is a table lookup
	// (a copy of n precomputed indices); 0 means DefaultMaxReplicas.
	// Replicas with a larger n still answers correctly, but walks the ring
	// and allocates. Memory is 2 bytes × MaxReplicas per point.
	MaxReplicas int
	// Hash, if set, places the points: point i (0 ≤ i < points of the
	// member) of member id lies at Hash(id, i). Tests inject a hash that
	// makes placements readable. nil means splitmix64 over xxh3(id),
	// which is what production rings must use.
	Hash func(id string, i int) uint64
}

// Ring maps 64-bit key hashes to members. It is immutable and safe for
// concurrent use; to change membership, build a new Ring with New and swap
// it in (for example with an atomic.Pointer[ring.Ring]).
type Ring struct {
	members []Member // sorted by ID; indices into it are the member indices
	zone    []uint16 // zone index of each member
	nzones  int
	rows    int // precomputed replicas per point: min(MaxReplicas, len(members))

	// pts holds the starts of the cells, sorted, with pts[0] = 0
	// prepended: entry i owns the hashes [pts[i], pts[i+1]) (the last up
	// to 2^64), and entry 0 is the part of the wrapping cell after 0, so
	// no lookup wraps.
	pts []uint64
	// reps holds rows replica indices for each entry of pts, owner first.
	reps []uint16

	// The top bits of a hash select a bucket (hash >> shift); there are
	// about as many buckets as cells. idx is the entry of pts at the
	// bucket's first hash. bkt packs what answers Owner without touching
	// pts or reps: bits 32-47 are that entry's owner; if one cell starts
	// inside the bucket, bits 48-63 are its owner and bits 0-31 the 32
	// bits of its start after the bucket bits (hash >> offShift); if none,
	// both owners are the same and bits 0-31 are all ones; if several,
	// bits 48-63 are multiCells. Hashes whose 32 bits equal those of the
	// start, or in a bucket with several cells, scan pts from idx.
	idx      []uint32
	bkt      []uint64
	shift    uint
	offShift uint
}

// multiCells marks a bucket where several cells start; member indices are
// below MaxMembers, which is multiCells.
const multiCells = math.MaxUint16

// KeyHash is the hash of a key that places it on a ring: xxh3 of the key.
func KeyHash(key string) uint64 { return xxh3.HashString(key) }

// New builds a ring of members. Their order does not matter: the same
// members and Config give the same ring on every node. New does not keep
// members.
func New(members []Member, cfg Config) (*Ring, error) {
	if cfg.Points < 0 {
		return nil, fmt.Errorf("%w: Points %d < 0", ErrBadConfig, cfg.Points)
	}
	if cfg.MaxReplicas < 0 {
		return nil, fmt.Errorf("%w: MaxReplicas %d < 0", ErrBadConfig, cfg.MaxReplicas)
	}
	if cfg.Points == 0 {
		cfg.Points = DefaultPoints
	}
	if cfg.MaxReplicas == 0 {
		cfg.MaxReplicas = DefaultMaxReplicas
	}
	if len(members) == 0 {
		return nil, ErrNoMembers
	}
	if len(members) > MaxMembers {
		return nil, fmt.Errorf("%w: %d > %d", ErrTooManyMembers, len(members), MaxMembers)
	}
	ms := slices.Clone(members)
	slices.SortFunc(ms, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	counts := make([]int, len(ms))
	total := 0
	for i, m := range ms {
		if m.ID == "" {
			return nil, ErrEmptyID
		}
		if i > 0 && ms[i-1].ID == m.ID {
			return nil, fmt.Errorf("%w: %q", ErrDuplicateID, m.ID)
		}
		w := m.Weight
		if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("%w: member %q has weight %v", ErrBadWeight, m.ID, w)
		}
		if w == 0 {
			w = 1
		}
		pf := math.Round(w * float64(cfg.Points))
		if pf > MaxPoints {
			return nil, fmt.Errorf("%w: member %q needs %.0f", ErrTooManyPoints, m.ID, pf)
		}
		counts[i] = max(1, int(pf))
		total += counts[i]
		if total > MaxPoints {
			return nil, fmt.Errorf("%w: more than %d", ErrTooManyPoints, MaxPoints)
		}
	}

	r := &Ring{members: ms, zone: make([]uint16, len(ms))}
	zones := make(map[string]uint16)
	for i, m := range ms {
		z, ok := zones[m.Zone]
		if !ok {
			z = uint16(len(zones))
			zones[m.Zone] = z
		}
		r.zone[i] = z
	}
	r.nzones = len(zones)
	r.rows = min(cfg.MaxReplicas, len(ms))

	workers := 1
	if total >= parallelPoints && runtime.GOMAXPROCS(0) > 1 {
		workers = 2
	}
	r.build(counts, cfg.Hash, workers)
	return r, nil
}

// parallelPoints is the size from which New builds on two goroutines (it
// waits for both): the result is the same, and a 100-member ring is ready
// sooner when a second core is free.
const parallelPoints = 1 << 16

func (r *Ring) build(counts []int, hash func(string, int) uint64, workers int) {
	owner, first, cells := r.place(counts, hash)
	r.fillReplicas(owner, first, workers)
	r.index(cells, owner, first, workers)
}

// place computes and sorts the points, turns them into the cells of the
// ring (each point owns the hashes nearer to it than to its neighbours:
// the cell between the midpoints to them). It returns
// the member of each point in sorted order, the entry of r.pts that the
// first point's cell got, and the number of cells starting in each bucket.
func (r *Ring) place(points []int, hash func(string, int) uint64) (owner []uint16, first int, counts []uint32) {
	total := 0
	for _, c := range points {
		total += c
	}
	b := max(1, bits.Len(uint(total-1))) // 2^b ≥ total: about one point per bucket
	r.shift = uint(64 - b)
	r.offShift = r.shift - 32 // b ≤ 25 since total ≤ MaxPoints
	nb := 1 << b

	// Points are uniform, so a counting sort on the bucket bits followed by
	// an insertion sort of each (tiny) bucket sorts them in linear time.
	// Both are stable and points are generated in member order, so equal
	// points are ordered by member index: the result is deterministic.
	// The points are generated twice (count, then scatter) because
	// splitmix64 is cheaper than a pass over a temporary array.
	var injected []uint64 // only tests inject a hash: not worth a fast path
	if hash != nil {
		injected = make([]uint64, 0, total)
		for mi, c := range points {
			for i := range c {
				injected = append(injected, hash(r.members[mi].ID, i))
			}
		}
	}
	shift := r.shift
	cnt := make([]uint32, nb) // becomes r.idx in index
	k := 0
	for mi, c := range points {
		x := xxh3.HashString(r.members[mi].ID)
		for range c {
			var p uint64
			if injected != nil {
				p = injected[k]
				k++
			} else {
				x += 0x9e3779b97f4a7c15
				p = mix64(x)
			}
			cnt[p>>shift]++
		}
	}
	sum := uint32(0)
	for i, c := range cnt {
		cnt[i] = sum
		sum += c
	}
	r.pts = make([]uint64, total+1)
	pts := r.pts[1:]
	owner = make([]uint16, total)
	k = 0
	for mi, c := range points {
		x := xxh3.HashString(r.members[mi].ID)
		for range c {
			var p uint64
			if injected != nil {
				p = injected[k]
				k++
			} else {
				x += 0x9e3779b97f4a7c15
				p = mix64(x)
			}
			j := cnt[p>>shift]
			cnt[p>>shift] = j + 1
			pts[j] = p
			owner[j] = uint16(mi)
		}
	}
	// Points are in bucket order: one insertion sort pass finishes, each
	// point moving only within its bucket (a large one, which only an
	// injected Hash makes, is sorted on its own).
	lo := 0
	for _, end := range cnt { // cnt[bk] is now the end of bucket bk
		if hi := int(end); hi-lo > 32 {
			sortBucket(pts[lo:hi], owner[lo:hi])
		}
		lo = int(end)
	}
	for i := 1; i < len(pts); i++ {
		if p := pts[i]; p < pts[i-1] {
			o := owner[i]
			j := i
			for ; j > 0 && pts[j-1] > p; j-- {
				pts[j], owner[j] = pts[j-1], owner[j-1]
			}
			pts[j], owner[j] = p, o
		}
	}

	// Cell i starts at the midpoint between points i-1 and i. Only cell 0's
	// start can be out of order: if it is past the last point, rotate it to
	// the end, so the cell that wraps past 2^64 is point 0's, else it is the
	// last point's.
	clear(cnt)
	prev := pts[total-1]
	for i, p := range pts {
		mid := prev + (p-prev)/2
		pts[i] = mid
		cnt[mid>>shift]++
		prev = p
	}
	first = 1
	if total > 1 && pts[0] > pts[1] {
		c0 := pts[0]
		copy(pts, pts[1:])
		pts[total-1] = c0
		first = total
	}

	return owner, first, cnt
}

// index fills r.idx and r.bkt from the number of cells starting in each
// bucket: the entries of bucket bk are r.pts[e+1 : e+1+cells[bk]], e the
// number of cells in earlier buckets.
//
// owner and first are as fillReplicas takes them; reading owners there
// rather than in r.reps reads a third of the bytes.
func (r *Ring) index(cells []uint32, owner []uint16, first, workers int) {
	r.idx = cells // overwritten in place: bucket bk is read before it is written
	r.bkt = make([]uint64, len(cells))
	last := len(r.pts) - 1
	if first != 1 { // align: entry e ≥ 1 is point e-1, entry 0 is entry last
		o0 := owner[0]
		copy(owner, owner[1:])
		owner[last-1] = o0
	}
	if workers < 2 {
		r.indexRange(owner, 0, len(cells), 0)
		return
	}
	half := len(cells) / 2
	edge := uint64(half) << r.shift
	before := sort.Search(last, func(i int) bool { return r.pts[i+1] >= edge })
	var wg sync.WaitGroup
	wg.Go(func() { r.indexRange(owner, 0, half, 0) })
	r.indexRange(owner, half, len(cells), uint32(before))
	wg.Wait()
}

// indexRange fills buckets [lo, hi), e being the number of cells that start
// in earlier buckets.
func (r *Ring) indexRange(owner []uint16, lo, hi int, e uint32) {
	cells, idx, bkt := r.idx, r.idx, r.bkt
	all, shift, offShift := r.pts, r.shift, r.offShift
	last := len(all) - 1
	for bk := lo; bk < hi; bk++ {
		c := cells[bk]
		edge := uint64(bk) << shift
		s := e
		e += c
		for c > 0 && all[s+1] == edge { // rare: a cell starts on the edge
			s++
			c--
		}
		idx[bk] = s
		// Branch-free: the counts are random, so a switch mispredicts.
		nx := min(int(s)+1, last)
		po := int(s) - 1
		if po < 0 { // only in the first buckets: entry 0 is entry last
			po = last - 1
		}
		own, nextOwn := uint64(owner[po]), uint64(owner[nx-1])
		start, after := uint64(math.MaxUint32), own // no cell starts inside
		if c == 1 {
			start, after = uint64(uint32(all[nx]>>offShift)), nextOwn
		}
		if c > 1 {
			start, after = 0, multiCells
		}
		bkt[bk] = start | own<<32 | after<<48
	}
}

// sortBucket sorts a large bucket, which only an injected Hash produces.
func sortBucket(pts []uint64, owner []uint16) {
	type po struct {
		p uint64
		o uint16
	}
	tmp := make([]po, len(pts))
	for i := range pts {
		tmp[i] = po{pts[i], owner[i]}
	}
	slices.SortStableFunc(tmp, func(a, b po) int { return cmp.Compare(a.p, b.p) })
	for i, x := range tmp {
		pts[i], owner[i] = x.p, x.o
	}
}

// mix64 is the splitmix64 finalizer.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// fillReplicas computes the replica list of every point (see fillRange),
// on workers goroutines. Point i's row goes to entry first+i of r.pts,
// wrapping from the end to 1.
func (r *Ring) fillReplicas(owner []uint16, first, workers int) {
	n, rows := len(owner), r.rows
	r.reps = make([]uint16, (n+1)*rows)
	if workers < 2 {
		r.fillRange(owner, first, 0, n)
	} else { // the halves write disjoint rows
		var wg sync.WaitGroup
		wg.Go(func() { r.fillRange(owner, first, 0, n/2) })
		r.fillRange(owner, first, n/2, n)
		wg.Wait()
	}
	copy(r.reps[:rows], r.reps[n*rows:]) // entry 0 is the wrapping arc
}

// fillRange fills the rows of points [lo, hi), walking them backwards.
//
// The order of first appearance going clockwise from point i is m_i and
// then the order from point i+1 without m_i; so is its first k members
// from the first k of the order from i+1. Short move-to-front lists of
// members and of zones, updated point by point, thus give each row in
// O(MaxReplicas). Only the first rows members are needed: among them are
// at most zones zone heads, so the first rows-zones others are too.
func (r *Ring) fillRange(owner []uint16, first, lo, hi int) {
	n, rows, nz, reps, zone := len(owner), r.rows, r.nzones, r.reps, r.zone
	kz := min(nz, rows)            // zones listed
	global := nz == 1 || nz < rows // members listed too
	ml := make([]uint16, 0, rows)
	zl := make([]uint16, 0, kz)
	zoneHead := make([]uint16, nz) // first member of each zone from here
	step := func(m uint16) {
		if global {
			ml = moveToFront(ml, m)
		}
		if nz > 1 {
			z := zone[m]
			zl = moveToFront(zl, z)
			zoneHead[z] = m
		}
	}
	// Warm up from point hi until the lists are full: a few points.
	seen := make([]bool, len(r.members))
	zseen := make([]bool, nz)
	start, j, nm, nzs := hi, 0, 0, 0
	if start == n {
		start = 0
	}
	for p := start; nm < rows || nzs < kz; j++ {
		if m := owner[p]; !seen[m] {
			seen[m] = true
			nm++
			if z := zone[m]; !zseen[z] {
				zseen[z] = true
				nzs++
			}
		}
		if p++; p == n {
			p = 0
		}
	}
	for t := j - 1; t >= 0; t-- {
		p := start + t
		if p >= n {
			p -= n
		}
		step(owner[p])
	}
	e := first + hi - 1 // entry of point i, going down with i and wrapping
	if e > n {
		e -= n
	}
	for i := hi - 1; i >= lo; i-- {
		m := owner[i]
		if global {
			ml = moveToFront(ml, m)
		}
		if nz > 1 {
			z := zone[m]
			zl = moveToFront(zl, z)
			zoneHead[z] = m
		}
		row := reps[e*rows : (e+1)*rows : (e+1)*rows]
		if e--; e == 0 {
			e = n
		}
		if nz == 1 {
			copy(row, ml)
			continue
		}
		k := 0
		for _, z := range zl {
			row[k] = zoneHead[z]
			k++
		}
		for _, m := range ml {
			if k == len(row) {
				break
			}
			if zoneHead[zone[m]] != m {
				row[k] = m
				k++
			}
		}
	}
}

// moveToFront moves x to the front of l, or pushes it there, dropping the
// last element if l is full.
func moveToFront(l []uint16, x uint16) []uint16 {
	i := 0
	for i < len(l) && l[i] != x {
		i++
	}
	if i == len(l) {
		if len(l) < cap(l) {
			l = l[:len(l)+1]
		} else {
			i--
		}
	}
	for ; i > 0; i-- { // a few elements: cheaper than a call to memmove
		l[i] = l[i-1]
	}
	l[0] = x
	return l
}

// Len returns the number of members.
func (r *Ring) Len() int { return len(r.members) }

// Members returns a copy of the members, sorted by ID. A member's position
// in it is its index, as returned by Owner and Replicas.
func (r *Ring) Members() []Member { return slices.Clone(r.members) }

// Member returns the member with index i (0 ≤ i < Len()).
func (r *Ring) Member(i int) Member { return r.members[i] }

// Index returns the index of the member with the given ID, or -1 and false.
func (r *Ring) Index(id string) (int, bool) {
	i, ok := slices.BinarySearchFunc(r.members, id, func(m Member, id string) int {
		return strings.Compare(m.ID, id)
	})
	if !ok {
		return -1, false
	}
	return i, true
}

// find returns the entry of pts that owns hash h.
func (r *Ring) find(h uint64) int {
	k := h >> (r.shift & 63)
	i, b := int(r.idx[k]), r.bkt[k]
	off := uint32(h >> (r.offShift & 63))
	if b>>48 == multiCells || off == uint32(b) {
		pts := r.pts
		for i+1 < len(pts) && pts[i+1] <= h {
			i++
		}
		return i
	}
	if off > uint32(b) {
		i++
	}
	return i
}

// Owner returns the index of the member that owns hash: the first of its
// replicas. It does not allocate.
func (r *Ring) Owner(hash uint64) int {
	b := r.bkt[hash>>(r.shift&63)]
	off := uint32(hash >> (r.offShift & 63))
	if b>>48 == multiCells || off == uint32(b) {
		return r.scanOwner(hash)
	}
	if off > uint32(b) {
		return int(b >> 48)
	}
	return int(uint16(b >> 32))
}

// scanOwner is Owner for buckets the table does not answer.
func (r *Ring) scanOwner(hash uint64) int {
	return int(r.reps[r.find(hash)*r.rows])
}

// Replicas writes the indices of the min(n, Len()) distinct members that
// hold replicas of hash into dst[:0] and returns it, owner first. It does
// not allocate when cap(dst) ≥ n and n ≤ Config.MaxReplicas (or n ≥ Len()
// ≤ MaxReplicas); a larger n walks the ring and allocates.
//
// The order is: going clockwise from the point nearest to hash (the
// owner's), the first member of each zone, in the order the zones are met,
// then the other members in the order they are met. So Replicas(h, n) is a
// prefix of Replicas(h, n+1), and replica sets spread over min(n, zones)
// zones.
func (r *Ring) Replicas(hash uint64, n int, dst []int) []int {
	dst = dst[:0]
	n = min(n, len(r.members))
	if n <= 0 {
		return dst
	}
	return r.replicasAt(r.find(hash), n, dst)
}

// replicasAt is Replicas for entry i of r.pts and 0 < n ≤ Len().
func (r *Ring) replicasAt(i, n int, dst []int) []int {
	dst = dst[:0]
	if n > r.rows {
		return r.walk(i, n, dst)
	}
	if cap(dst) < n {
		dst = make([]int, n)
	}
	dst = dst[:n]
	for k, m := range r.reps[i*r.rows : i*r.rows+n] {
		dst[k] = int(m)
	}
	return dst
}

// walk computes the replicas of entry i of pts without the table: the
// reference definition, used beyond MaxReplicas and by tests.
func (r *Ring) walk(i, n int, dst []int) []int {
	np := len(r.pts) - 1
	t := i - 1 // real point
	if t < 0 {
		t = np - 1
	}
	seen := make([]bool, len(r.members))
	zseen := make([]bool, r.nzones)
	var firsts, rest []int
	for range np {
		m := int(r.reps[(t+1)*r.rows])
		if !seen[m] {
			seen[m] = true
			if z := r.zone[m]; !zseen[z] {
				zseen[z] = true
				firsts = append(firsts, m)
			} else {
				rest = append(rest, m)
			}
			if len(firsts) >= n || len(firsts) == r.nzones && len(firsts)+len(rest) >= n {
				break
			}
		}
		if t++; t == np {
			t = 0
		}
	}
	k := min(n, len(firsts))
	dst = append(dst, firsts[:k]...)
	return append(dst, rest[:n-k]...)
}
