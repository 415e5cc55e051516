package store

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Store is a node's in-memory replica store. All methods are safe for
// concurrent use; reads take no lock.
type Store struct {
	cfg          Config
	bucketShift  uint   // hash >> bucketShift is a digest bucket (global index)
	bucketMask   uint64 // bucket index within a shard
	graceMillis  int64
	shards       [numShards]shard
	bytes        atomic.Int64  // charged bytes, fixed included
	fixed        int64         // the store's own structures: shards, digest sums, empty tables
	evictCounter atomic.Uint64 // round-robin start for evicting from other shards

	evictions, expirations, dropped, visited, removed atomic.Uint64

	closed atomic.Bool
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

const (
	shardBits = 8
	numShards = 1 << shardBits
	// entryHeader is the fixed header of every block (see block.go).
	entryHeader = 28
	// indexOverhead is each entry's share of its shard's index: 16 bytes a
	// slot at a load between 0.65 and 0.85, plus the overflow area.
	indexOverhead = 24
)

type shard struct {
	tab atomic.Pointer[table]
	// Readers only load tab; keep writers' fields off its cache line.
	_ [56]byte

	mu        sync.Mutex
	sums      []uint64 // digest bucket sums, atomic (read by Digest without mu)
	hand      int      // CLOCK hand, a slot index
	sweepHand int      // sweeper position, a slot index
	live      atomic.Int64
	tombs     atomic.Int64
	_         [64]byte
}

// New returns a store configured by cfg (nil means defaults) and starts its
// background sweeper unless cfg.SweepInterval is negative. Close stops it.
func New(cfg *Config) (*Store, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{
		cfg:         c,
		bucketShift: uint(64 - c.DigestBits),
		bucketMask:  1<<(c.DigestBits-shardBits) - 1,
		graceMillis: c.TombstoneGrace.Milliseconds(),
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
	}
	for i := range s.shards {
		t := newTable(0)
		s.shards[i].tab.Store(t)
		s.shards[i].sums = make([]uint64, 1<<(c.DigestBits-shardBits))
		s.fixed += int64(len(t.slots))*int64(unsafe.Sizeof(slot{})) + int64(len(s.shards[i].sums))*8
	}
	s.fixed += int64(unsafe.Sizeof(*s))
	s.bytes.Store(s.fixed)
	if c.MaxBytes > 0 && c.MaxBytes < s.fixed {
		return nil, fmt.Errorf("store: MaxBytes %d is below the store's fixed structures (%d bytes; a smaller DigestBits shrinks them)", c.MaxBytes, s.fixed)
	}
	if c.SweepInterval > 0 {
		go s.sweeper()
	} else {
		close(s.done)
	}
	return s, nil
}

// Close stops background work and refuses further writes (ErrClosed).
// Reads keep working. Close is idempotent and returns nil.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.stop)
		<-s.done
	})
	return nil
}

func (s *Store) sweeper() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Sweep()
		}
	}
}

func (s *Store) shardOf(h uint64) *shard { return &s.shards[h>>(64-shardBits)] }

// Apply stores e if its version is newer than the stored version of e.Key
// (last-write-wins) and reports whether it did. It is the one write path for
// local writes, replicated writes, read repair, hinted handoff and range
// transfer: replaying writes any number of times in any order converges to
// the same state. A missing key (never written, evicted, or whose tombstone
// was dropped) accepts any version. e is copied. An entry whose expiry has
// already passed is stored as a tombstone with its version. If the store
// is over Config.MaxBytes afterwards, Apply evicts other entries.
func (s *Store) Apply(e Entry) (bool, error) {
	if err := s.validate(&e); err != nil {
		return false, err
	}
	if s.closed.Load() {
		return false, ErrClosed
	}
	if !e.Tombstone && e.Expires != 0 && e.Expires <= s.cfg.Now() {
		e.Tombstone, e.Value = true, nil
	}
	h := KeyHash(e.Key)
	sh := s.shardOf(h)
	// A replayed or stale write usually loses: find out without the lock
	// and without allocating.
	if p, _ := sh.tab.Load().find(h, e.Key); p != nil && !e.Version.Newer(blkVersion(p)) {
		return false, nil
	}
	var freq uint32
	if e.Tombstone {
		freq = maxFreq
	}
	nb := newBlock(e.Key, e.Value, e.Version, e.Expires, e.Tombstone, freq)
	nbCost := blkCost(nb)

	sh.mu.Lock()
	t := sh.tab.Load()
	i, free := t.slot(h, e.Key)
	delta := nbCost
	if i >= 0 {
		old := t.slots[i].p
		ov := blkVersion(old)
		if !e.Version.Newer(ov) {
			sh.mu.Unlock()
			return false, nil
		}
		if !e.Tombstone {
			setFreq(nb, blkMeta(old)>>freqShift) // a rewritten key keeps its heat
		}
		t.replace(i, nb)
		s.addDigest(sh, h, entryDigest(h, e.Version)-entryDigest(h, ov))
		delta -= blkCost(old)
		if blkTombstone(old) != e.Tombstone { // same kind: the counts stay
			s.count(sh, old, -1)
			s.count(sh, nb, +1)
		}
	} else {
		for free < 0 || (t.isEmpty(free) && t.needsGrow()) {
			extra := 1
			if free < 0 {
				extra = t.live + minHomes // the probe ran off the end: grow harder
			}
			t = s.rebuild(sh, t, extra)
			_, free = t.slot(h, e.Key)
		}
		t.put(free, h, nb)
		s.addDigest(sh, h, entryDigest(h, e.Version))
		s.count(sh, nb, +1)
	}
	sh.mu.Unlock()

	if used := s.bytes.Add(delta); s.cfg.MaxBytes > 0 && used > s.cfg.MaxBytes {
		s.evict(sh, nb)
	}
	return true, nil
}

// Set applies a live value: Apply(Entry{Key: key, Value: value, Version: v, Expires: expires}).
func (s *Store) Set(key string, value []byte, v Version, expires int64) (bool, error) {
	return s.Apply(Entry{Key: key, Value: value, Version: v, Expires: expires})
}

// Delete applies a tombstone with version v: reads then treat key as
// missing, and the tombstone keeps older writes out until it is dropped
// TombstoneGrace after v's wall time.
func (s *Store) Delete(key string, v Version) (bool, error) {
	return s.Apply(Entry{Key: key, Version: v, Tombstone: true})
}

// Drop removes key's entry, value or tombstone, if its stored version is
// exactly v, and reports whether it did. It leaves no tombstone: the key
// becomes missing, as if never written, and digests, Stats and the memory
// charge lose the entry. An entry replaced by another version meanwhile (a
// newer write) is kept, so a replication layer that checked that other
// replicas hold version v (or newer) can drop its own copy without losing a
// write that arrived after the check. An entry whose expiry passed keeps
// its version and is dropped by it too. A closed store drops nothing.
//
// It is meant for a replica that hands a key over to others (a ring
// change): a missing key accepts any version again, so Drop must not be used
// to delete (see Delete).
func (s *Store) Drop(key string, v Version) bool {
	if s.closed.Load() || v.IsZero() {
		return false
	}
	h := KeyHash(key)
	sh := s.shardOf(h)
	// Usually the version is already known to differ, or the key is gone:
	// find out without the lock.
	if p, _ := sh.tab.Load().find(h, key); p == nil || blkVersion(p) != v {
		return false
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	t := sh.tab.Load()
	i, _ := t.slot(h, key)
	if i < 0 || blkVersion(t.slots[i].p) != v {
		return false
	}
	s.removeSlot(sh, t, i)
	s.removed.Add(1)
	if t.needsShrink() {
		s.rebuild(sh, t, 0)
	}
	return true
}

// rebuild replaces sh's table by a rebuilt one with room for extra more
// keys and publishes it. Caller holds sh.mu.
func (s *Store) rebuild(sh *shard, t *table, extra int) *table {
	nt := t.rebuilt(extra)
	n, m := len(nt.slots), len(t.slots)
	sh.hand = int(uint64(sh.hand) * uint64(n) / uint64(m))
	sh.sweepHand = int(uint64(sh.sweepHand) * uint64(n) / uint64(m))
	sh.tab.Store(nt)
	return nt
}

func (s *Store) addDigest(sh *shard, h, d uint64) {
	b := &sh.sums[(h>>s.bucketShift)&s.bucketMask]
	atomic.StoreUint64(b, atomic.LoadUint64(b)+d)
}

// count adds sign to the live or tombstone count of block p's kind.
func (s *Store) count(sh *shard, p block, sign int64) {
	if blkTombstone(p) {
		sh.tombs.Add(sign)
	} else {
		sh.live.Add(sign)
	}
}

// View returns the value of key without copying it. The slice is immutable
// shared memory: the caller must not modify it; it stays valid and
// unchanged forever (later writes allocate new memory). Tombstones and
// expired entries read as missing. View takes no lock and does not allocate.
func (s *Store) View(key string) ([]byte, bool) {
	h := KeyHash(key)
	sh := s.shardOf(h)
	p, m := sh.tab.Load().find(h, key)
	if p == nil || m&metaTombstone != 0 {
		return nil, false
	}
	if exp := blkExpires(p); exp != 0 && exp <= s.cfg.Now() {
		s.expire(sh, h, key, p)
		return nil, false
	}
	blkTouch(p, m)
	return blkValue(p, m), true
}

// Get returns a copy of the value of key, which the caller owns.
// Tombstones and expired entries read as missing.
func (s *Store) Get(key string) ([]byte, bool) {
	v, ok := s.View(key)
	if !ok {
		return nil, false
	}
	return bytes.Clone(v), true
}

// Read returns the stored entry of key for the replication layer, including
// tombstones: an entry whose expiry has passed is returned as a tombstone
// with its version and expiry. ok is false if the store holds nothing for
// key. Value shares the store's immutable memory (see Entry). Read takes no
// lock and does not allocate.
func (s *Store) Read(key string) (Entry, bool) {
	h := KeyHash(key)
	sh := s.shardOf(h)
	p, m := sh.tab.Load().find(h, key)
	if p == nil {
		return Entry{}, false
	}
	e := Entry{Key: key, Version: blkVersion(p), Expires: blkExpires(p)}
	switch {
	case m&metaTombstone != 0:
		e.Tombstone = true
	case e.Expires != 0 && e.Expires <= s.cfg.Now():
		e.Tombstone = true
		s.expire(sh, h, key, p)
	default:
		blkTouch(p, m)
		e.Value = blkValue(p, m)
	}
	return e, true
}

// expire turns block p of key, found expired by a reader, into a tombstone
// unless it was replaced meanwhile.
func (s *Store) expire(sh *shard, h uint64, key string, p block) {
	sh.mu.Lock()
	t := sh.tab.Load()
	if i, _ := t.slot(h, key); i >= 0 && t.slots[i].p == p {
		s.expireSlot(sh, t, i)
	}
	sh.mu.Unlock()
}

// expireSlot replaces the expired value in slot i by a tombstone with the
// same version (so digests do not change). Caller holds sh.mu.
func (s *Store) expireSlot(sh *shard, t *table, i int) {
	p := t.slots[i].p
	nb := newBlock(blkKey(p), nil, blkVersion(p), blkExpires(p), true, maxFreq)
	t.replace(i, nb)
	s.count(sh, p, -1)
	s.count(sh, nb, +1)
	s.bytes.Add(blkCost(nb) - blkCost(p))
	s.expirations.Add(1)
}

// removeSlot drops the block in slot i. Caller holds sh.mu.
func (s *Store) removeSlot(sh *shard, t *table, i int) {
	p, h := t.slots[i].p, t.slots[i].h
	t.remove(i)
	s.addDigest(sh, h, -entryDigest(h, blkVersion(p)))
	s.count(sh, p, -1)
	s.bytes.Add(-blkCost(p))
}

// tombstoneDeadline is when tombstone block p may be dropped.
func (s *Store) tombstoneDeadline(p block) int64 {
	if exp := blkExpires(p); exp != 0 {
		return exp + s.graceMillis
	}
	return blkVersion(p).Time.WallTime() + s.graceMillis
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	st := Stats{
		Bytes: s.bytes.Load(), FixedBytes: s.fixed, MaxBytes: s.cfg.MaxBytes,
		Evictions: s.evictions.Load(), Expirations: s.expirations.Load(),
		TombstonesDropped: s.dropped.Load(), Visited: s.visited.Load(),
		Removed: s.removed.Load(),
	}
	for i := range s.shards {
		st.Keys += s.shards[i].live.Load()
		st.Tombstones += s.shards[i].tombs.Load()
	}
	return st
}
