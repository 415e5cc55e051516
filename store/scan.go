package store

import (
	"cmp"
	"slices"
	"sync/atomic"
)

// chunks walks r from offset pos in order, one chunk at a time: a hash
// interval inside one shard sized to hold about per entries of that shard
// (a whole shard when it is small), so that a page costs about as much as
// its entries whatever the store's size. fn gets each chunk as an
// inclusive hash interval and returns false to stop.
func (s *Store) chunks(r Range, pos uint64, per int, fn func(lo, hi uint64) bool) {
	last := r.last()
	for pos <= last {
		lo := r.Start + pos
		sh := s.shardOf(lo)
		width := uint64(1) << (64 - shardBits)
		if live := int(sh.live.Load() + sh.tombs.Load()); live > per {
			width = max(width/uint64(live/per+1), 1<<20)
		}
		span := min(width-1, lo|(1<<(64-shardBits)-1)-lo, last-pos)
		if !fn(lo, lo+span) || span == last-pos {
			return
		}
		pos += span + 1
	}
}

type hit struct {
	h uint64
	p block
}

// walk calls fn for every block of shard-local hash interval [lo, hi]
// (both in one shard). It takes no lock: it reads one published table with
// atomic loads, so it sees every key present for the whole walk.
func (s *Store) walk(lo, hi uint64, fn func(h uint64, p block)) {
	t := s.shardOf(lo).tab.Load()
	end := t.home(hi)
	var visited uint64
	for i := t.home(lo); i < uint64(len(t.slots)); i++ {
		// Pointer first: a slot's hash is stored before its pointer, so x
		// belongs to p unless the slot was reused meanwhile; the block's own
		// key hash decides.
		p := atomic.LoadPointer(&t.slots[i].p)
		x := atomic.LoadUint64(&t.slots[i].h)
		if p == nil {
			if x == 0 && i > end {
				break
			}
			continue
		}
		visited++
		if x >= lo && x <= hi {
			if h := KeyHash(blkKey(p)); h >= lo && h <= hi {
				fn(h, p)
			}
		}
	}
	s.visited.Add(visited)
}

// collect appends the blocks of hash interval [lo, hi] (one shard) to buf,
// sorted by hash then key, one block per key.
func (s *Store) collect(buf []hit, lo, hi uint64) []hit {
	start := len(buf)
	s.walk(lo, hi, func(h uint64, p block) { buf = append(buf, hit{h, p}) })
	part := buf[start:]
	slices.SortFunc(part, func(a, b hit) int {
		if c := cmp.Compare(a.h, b.h); c != 0 {
			return c
		}
		if c := cmp.Compare(blkKey(a.p), blkKey(b.p)); c != 0 {
			return c
		}
		return blkVersion(b.p).Compare(blkVersion(a.p)) // newest first
	})
	// A key deleted and written again during the walk can show up twice:
	// keep the newer version.
	part = slices.CompactFunc(part, func(a, b hit) bool {
		return a.h == b.h && blkKey(a.p) == blkKey(b.p)
	})
	return buf[:start+len(part)]
}

// entryOf builds the Entry of block p as Read reports it.
func (s *Store) entryOf(p block, now *int64) Entry {
	m := blkMeta(p)
	e := Entry{Key: blkKey(p), Version: blkVersion(p), Expires: blkExpires(p)}
	if m&metaTombstone != 0 {
		e.Tombstone = true
		return e
	}
	if e.Expires != 0 {
		if *now == 0 {
			*now = s.cfg.Now()
		}
		if e.Expires <= *now {
			e.Tombstone = true
			return e
		}
	}
	e.Value = blkValue(p, m)
	return e
}

// Scan appends to dst up to limit entries (limit <= 0 means 100) whose key
// hash lies in r and that sort after c, in order of hash (in r's wrapping
// order) then key, and returns the cursor for the next page (Done when the
// range is exhausted). Tombstones are included (transfers must carry them);
// expired entries come as tombstones. Entries share the store's immutable
// memory (see Entry).
//
// No lock is held between pages nor for a page: Scan reads a chunk of about
// limit entries at a time without locking, and writes go on.
// Every key present for the whole scan is returned exactly once; a key
// written or deleted during the scan may or may not be.
func (s *Store) Scan(dst []Entry, r Range, c Cursor, limit int) ([]Entry, Cursor) {
	if c.Done {
		return dst, c
	}
	if limit <= 0 {
		limit = 100
	}
	var pos uint64
	if c.Started {
		if !r.Contains(c.Hash) {
			return dst, Cursor{Done: true}
		}
		pos = r.offset(c.Hash)
	}
	var now int64
	var buf []hit
	n, more := 0, false
	s.chunks(r, pos, max(limit, 64), func(lo, hi uint64) bool {
		buf = s.collect(buf[:0], lo, hi)
		for _, x := range buf {
			if c.Started && (x.h == c.Hash && blkKey(x.p) <= c.Key ||
				x.h != c.Hash && r.offset(x.h) < r.offset(c.Hash)) {
				continue
			}
			if n == limit {
				more = true
				return false
			}
			e := s.entryOf(x.p, &now)
			dst = append(dst, e)
			c = Cursor{Started: true, Hash: x.h, Key: e.Key}
			n++
		}
		return true
	})
	if more {
		return dst, c
	}
	c.Done = true
	return dst, c
}
