package store

import (
	"sync/atomic"
	"unsafe"
)

// table is one shard's index: open addressing with linear probing over
// parallel arrays of 32-bit hash tags and block pointers (12 bytes a slot,
// no per-entry map overhead).
//
// A key's home slot is its hash (the bits below the shard bits) scaled to
// the number of home slots, so slots follow hash order: the keys of a hash
// range sit in a contiguous run of slots (plus the probe overflow that
// follows), which is what Scan and Digest read. There is no wrap-around:
// probing runs into an overflow area after the last home slot.
//
// Concurrency: only the shard's writer (holding shard.mu) changes a table;
// readers load slots atomically without a lock. A slot's pointer is set
// before its tag, and a removed slot gets the tag "deleted" (never "empty",
// and entries never move), so a lock-free reader never misses a key that is
// present for its whole lookup. Growing or shrinking builds a new table and
// publishes it; readers still on the old one see a consistent past state.
type table struct {
	tags  []uint32 // tagEmpty, tagDeleted or a key's tag
	ptrs  []unsafe.Pointer
	homes uint64 // number of home slots; len(tags) adds the overflow area

	// Writer-only (under shard.mu).
	live int // slots holding a block
	used int // slots not empty (live or deleted): probe chains end at empty
}

const (
	tagEmpty   = 0
	tagDeleted = 1
	// A table is rebuilt when used slots pass maxLoad of homes, to
	// rebuildLoad of the live keys (so memory per key stays within
	// 12/0.85..12/0.6 bytes of index).
	maxLoadPct     = 85
	rebuildLoadPct = 60
	minHomes       = 8
)

func tagOf(h uint64) uint32 {
	t := uint32(h)
	if t <= tagDeleted {
		t += 2
	}
	return t
}

func newTable(live int) *table {
	homes := uint64(live)*100/rebuildLoadPct + minHomes
	n := homes + 8 + homes/16
	return &table{tags: make([]uint32, n), ptrs: make([]unsafe.Pointer, n), homes: homes}
}

// home returns the home slot of hash h: the 32 bits after the shard bits,
// scaled to homes. Monotonic in h within a shard.
func (t *table) home(h uint64) uint64 { return (h << shardBits >> 32) * t.homes >> 32 }

// find returns the block of key, or nil. Lock-free.
func (t *table) find(h uint64, key string) block {
	tag := tagOf(h)
	for i := t.home(h); i < uint64(len(t.tags)); i++ {
		x := atomic.LoadUint32(&t.tags[i])
		if x == tag {
			p := atomic.LoadPointer(&t.ptrs[i])
			if p != nil && blkKey(p) == key {
				return p
			}
		} else if x == tagEmpty {
			return nil
		}
	}
	return nil
}

// slot returns the slot of key (or -1) and the first slot where key could
// be inserted (or -1 if the probe ran off the end). Writer only.
func (t *table) slot(h uint64, key string) (at, free int) {
	tag := tagOf(h)
	free = -1
	for i := int(t.home(h)); i < len(t.tags); i++ {
		x := t.tags[i]
		switch {
		case x == tag:
			if p := t.ptrs[i]; p != nil && blkKey(p) == key {
				return i, free
			}
		case x == tagEmpty:
			if free < 0 {
				free = i
			}
			return -1, free
		case x == tagDeleted:
			if free < 0 {
				free = i
			}
		}
	}
	return -1, free
}

// put stores block p of hash h in slot i (from slot). Writer only.
func (t *table) put(i int, h uint64, p block) {
	if t.tags[i] == tagEmpty {
		t.used++
	}
	t.live++
	atomic.StorePointer(&t.ptrs[i], p)
	atomic.StoreUint32(&t.tags[i], tagOf(h))
}

// remove empties slot i. Writer only.
func (t *table) remove(i int) {
	t.live--
	atomic.StoreUint32(&t.tags[i], tagDeleted)
	atomic.StorePointer(&t.ptrs[i], nil)
}

// needsGrow reports whether inserting one more key must rebuild first.
func (t *table) needsGrow() bool { return uint64(t.used+1)*100 > t.homes*maxLoadPct }

// needsShrink reports whether the table is mostly empty.
func (t *table) needsShrink() bool { return t.homes > 64 && uint64(t.live)*8 < t.homes }

// rebuilt returns a new table holding t's blocks, sized for extra more
// keys. It fills the new table with plain stores: it is not yet published.
func (t *table) rebuilt(extra int) *table {
	nt := newTable(t.live + extra)
	for retry := 0; ; retry++ {
		ok := true
		for i, p := range t.ptrs {
			if p == nil {
				continue
			}
			h := KeyHash(blkKey(p))
			j := int(nt.home(h))
			for j < len(nt.tags) && nt.tags[j] != tagEmpty {
				j++
			}
			if j == len(nt.tags) {
				ok = false // a cluster ran off the end: very rare, take more room
				break
			}
			nt.tags[j] = t.tags[i]
			nt.ptrs[j] = p
			nt.live++
			nt.used++
		}
		if ok {
			return nt
		}
		nt = newTable(int(nt.homes) * 2)
	}
}
