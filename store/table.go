package store

import (
	"sync/atomic"
	"unsafe"
)

// table is one shard's index: open addressing with linear probing over
// 16-byte slots holding a key's full hash and its block pointer. A lookup
// touches one slot cache line and then the block: no per-entry map
// overhead, no pointer-chasing through nodes.
//
// A key's home slot is its hash (the bits below the shard bits) scaled to
// the number of home slots, so slots follow hash order: the keys of a hash
// range sit in a contiguous run of slots (plus the probe overflow that
// follows), which is what Scan and Digest read. There is no wrap-around:
// probing runs into an overflow area after the last home slot.
//
// Slot states: empty (hash 0, nil pointer), live (non-nil pointer),
// deleted (nil pointer, non-zero hash). A probe stops at an empty slot.
//
// Concurrency: only the shard's writer (holding shard.mu) changes a table;
// readers load slots atomically without a lock and always confirm the key
// in the block, so a slot caught mid-change is never misread. A slot's hash
// is set before its pointer; a removed slot becomes "deleted", never
// "empty"; entries never move within a table. So a lock-free reader never
// misses a key that is present for its whole lookup. Growing or shrinking
// builds a new table and publishes it; readers still on the old one see a
// consistent past state.
type table struct {
	slots []slot
	homes uint64 // number of home slots; len(slots) adds the overflow area

	// Writer-only (under shard.mu).
	live int // live slots
	used int // non-empty slots (live or deleted): probe chains end at empty
}

type slot struct {
	h uint64 // atomic
	p unsafe.Pointer
}

const (
	// A table is rebuilt when used slots pass maxLoad of homes, to
	// rebuildLoad of the live keys: index memory per key stays between
	// 16/0.85 and 16/0.65 bytes.
	maxLoadPct     = 85
	rebuildLoadPct = 65
	minHomes       = 8
)

func newTable(live int) *table {
	homes := uint64(live)*100/rebuildLoadPct + minHomes
	return &table{slots: make([]slot, homes+uint64(overflow(homes))), homes: homes}
}

// overflow is the size of the probe overflow area after homes home slots
// (longer in a table whose keys bunch at the end: see rebuilt).
func overflow(homes uint64) int { return int(8 + homes/32) }

// home returns the home slot of hash h: the 32 bits after the shard bits,
// scaled to homes. Monotonic in h within a shard.
func (t *table) home(h uint64) uint64 { return (h << shardBits >> 32) * t.homes >> 32 }

// find returns the block of key and its meta word, or nil. Lock-free.
// It reads a slot's pointer only when the slot's hash matches or is zero.
func (t *table) find(h uint64, key string) (block, uint32) {
	slots := t.slots
	for i := t.home(h); i < uint64(len(slots)); i++ {
		sl := &slots[i]
		x := atomic.LoadUint64(&sl.h)
		if x == h {
			if p := atomic.LoadPointer(&sl.p); p != nil {
				m := blkMeta(p)
				if int(m&0xffff) == len(key) && unsafe.String((*byte)(unsafe.Add(p, entryHeader)), len(key)) == key {
					return p, m
				}
			}
		} else if x == 0 && atomic.LoadPointer(&sl.p) == nil {
			return nil, 0
		}
	}
	return nil, 0
}

// slot returns the slot of key (or -1) and the first slot where key could
// be inserted (or -1 if the probe ran off the end). Writer only.
func (t *table) slot(h uint64, key string) (at, free int) {
	free = -1
	for i := int(t.home(h)); i < len(t.slots); i++ {
		sl := &t.slots[i]
		if sl.p == nil {
			if free < 0 {
				free = i
			}
			if sl.h == 0 {
				return -1, free
			}
			continue
		}
		if sl.h == h && blkKey(sl.p) == key {
			return i, free
		}
	}
	return -1, free
}

func (t *table) isEmpty(i int) bool { return t.slots[i].p == nil && t.slots[i].h == 0 }

// put stores block p of hash h in free slot i (from slot). Writer only.
func (t *table) put(i int, h uint64, p block) {
	if t.isEmpty(i) {
		t.used++
	}
	t.live++
	atomic.StoreUint64(&t.slots[i].h, h)
	atomic.StorePointer(&t.slots[i].p, p)
}

// replace swaps the block of live slot i. Writer only.
func (t *table) replace(i int, p block) { atomic.StorePointer(&t.slots[i].p, p) }

// remove makes live slot i deleted. Writer only.
func (t *table) remove(i int) {
	t.live--
	if t.slots[i].h == 0 {
		atomic.StoreUint64(&t.slots[i].h, 1) // deleted, not empty
	}
	atomic.StorePointer(&t.slots[i].p, nil)
}

// needsGrow reports whether inserting one more key into an empty slot
// must rebuild first.
func (t *table) needsGrow() bool { return uint64(t.used+1)*100 > t.homes*maxLoadPct }

// needsShrink reports whether the table is mostly empty.
func (t *table) needsShrink() bool { return t.homes > 64 && uint64(t.live)*4 < t.homes }

// rebuilt returns a new table holding t's blocks, sized for extra more
// keys. It fills the new table with plain stores: it is not yet published.
//
// Keys are not always spread over their shard's hash range: a replica
// holds only the ring ranges it replicates, and with few ring points a
// range can cover just the end of a shard's range. Their probe chains
// then run past the last home slot, and a larger table does not help
// (homes scale with the hashes). So the overflow area is lengthened as
// blocks are placed: it always keeps overflow(homes) empty slots after
// the last block, which is as long as newTable makes it, so every block
// fits and the insert that asked for the rebuild finds a free slot (a
// probe starting at or before the last block ends in that tail; one
// starting after it starts on an empty slot).
func (t *table) rebuilt(extra int) *table {
	nt := newTable(t.live + extra)
	for _, sl := range t.slots {
		if sl.p == nil {
			continue
		}
		j := int(nt.home(sl.h))
		for j < len(nt.slots) && nt.slots[j].p != nil {
			j++
		}
		if want := j + 1 + overflow(nt.homes); want > len(nt.slots) {
			nt.slots = append(nt.slots, make([]slot, want-len(nt.slots))...)
		}
		nt.slots[j] = sl
		nt.live++
		nt.used++
	}
	return nt
}
