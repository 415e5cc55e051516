package store

import (
	"bytes"
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Store is a node's in-memory replica store. All methods are safe for
// concurrent use.
type Store struct {
	cfg    Config
	shards [numShards]shard
	bytes  atomic.Int64

	evictions, expirations, dropped, visited atomic.Uint64

	closed atomic.Bool
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

const (
	shardBits = 8
	numShards = 1 << shardBits
	// entryHeader is the fixed per-entry overhead of the layout.
	entryHeader = 28
	// indexOverhead is each entry's share of the index (slots at about
	// two-thirds load).
	indexOverhead = 20
)

type rec struct {
	e    Entry
	hash uint64
	cost int64
}

type shard struct {
	mu sync.RWMutex
	m  map[string]*rec
}

// New returns a store configured by cfg (nil means defaults) and starts its
// background sweeper unless cfg.SweepInterval is negative. Close stops it.
func New(cfg *Config) (*Store, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{cfg: c, stop: make(chan struct{}), done: make(chan struct{})}
	for i := range s.shards {
		s.shards[i].m = make(map[string]*rec)
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

func shardOf(h uint64) int { return int(h >> (64 - shardBits)) }

func cost(e *Entry) int64 {
	return int64(sizeClass(entryHeader+len(e.Key)+len(e.Value))) + indexOverhead
}

// Apply stores e if its version is newer than the stored version of e.Key
// (last-write-wins) and reports whether it did. It is the one write path for
// local writes, replicated writes, read repair, hinted handoff and range
// transfer: replaying writes any number of times in any order converges to
// the same state. A missing key (never written, evicted, or whose tombstone
// was dropped) accepts any version. e is copied. An entry whose expiry has
// already passed is stored as a tombstone with its version.
func (s *Store) Apply(e Entry) (bool, error) {
	if err := s.validate(&e); err != nil {
		return false, err
	}
	if s.closed.Load() {
		return false, ErrClosed
	}
	h := KeyHash(e.Key)
	if e.Expires != 0 && e.Expires <= s.cfg.Now() {
		e.Tombstone, e.Value = true, nil
	}
	sh := &s.shards[shardOf(h)]
	sh.mu.Lock()
	old := sh.m[e.Key]
	if old != nil && !e.Version.Newer(old.e.Version) {
		sh.mu.Unlock()
		return false, nil
	}
	e.Key = string([]byte(e.Key))
	if !e.Tombstone {
		e.Value = bytes.Clone(e.Value)
		if e.Value == nil {
			e.Value = []byte{}
		}
	}
	r := &rec{e: e, hash: h, cost: cost(&e)}
	sh.m[e.Key] = r
	delta := r.cost
	if old != nil {
		delta -= old.cost
	}
	sh.mu.Unlock()
	if s.bytes.Add(delta) > s.cfg.MaxBytes && s.cfg.MaxBytes > 0 {
		s.evict(shardOf(h), e.Key)
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

// evict removes entries until the store is under its limit, starting with
// shard first and skipping key (the write that triggered it).
func (s *Store) evict(first int, key string) {
	for i := 0; i < numShards && s.bytes.Load() > s.cfg.MaxBytes; i++ {
		sh := &s.shards[(first+i)%numShards]
		sh.mu.Lock()
		for k, r := range sh.m {
			if s.bytes.Load() <= s.cfg.MaxBytes {
				break
			}
			if k == key {
				continue
			}
			delete(sh.m, k)
			s.bytes.Add(-r.cost)
			s.evictions.Add(1)
		}
		sh.mu.Unlock()
	}
}

// lookup returns the stored record of key, or nil.
func (s *Store) lookup(key string) *rec {
	sh := &s.shards[shardOf(KeyHash(key))]
	sh.mu.RLock()
	r := sh.m[key]
	sh.mu.RUnlock()
	return r
}

func (s *Store) live(r *rec) bool {
	return r != nil && !r.e.Tombstone && (r.e.Expires == 0 || r.e.Expires > s.cfg.Now())
}

// View returns the value of key without copying it. The slice is immutable
// shared memory: the caller must not modify it; it stays valid and
// unchanged forever (later writes allocate new memory). Tombstones and
// expired entries read as missing. View does not allocate.
func (s *Store) View(key string) ([]byte, bool) {
	r := s.lookup(key)
	if !s.live(r) {
		return nil, false
	}
	return r.e.Value, true
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
// key. Key and Value share the store's immutable memory (see Entry).
func (s *Store) Read(key string) (Entry, bool) {
	r := s.lookup(key)
	if r == nil {
		return Entry{}, false
	}
	e := r.e
	if !e.Tombstone && e.Expires != 0 && e.Expires <= s.cfg.Now() {
		e.Tombstone, e.Value = true, nil
	}
	return e, true
}

// Sweep runs one pass of the background sweeper now: in each shard it
// examines at most SweepBatch entries, turns expired values into tombstones
// and drops tombstones past their grace period. It returns how many entries
// it changed.
func (s *Store) Sweep() int {
	now := s.cfg.Now()
	grace := s.cfg.TombstoneGrace.Milliseconds()
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		budget := s.cfg.SweepBatch
		for k, r := range sh.m {
			if budget == 0 {
				break
			}
			budget--
			e := &r.e
			if !e.Tombstone && e.Expires != 0 && e.Expires <= now {
				nr := &rec{e: Entry{Key: e.Key, Version: e.Version, Expires: e.Expires, Tombstone: true}, hash: r.hash}
				nr.cost = cost(&nr.e)
				sh.m[k] = nr
				s.bytes.Add(nr.cost - r.cost)
				s.expirations.Add(1)
				n++
				continue
			}
			if e.Tombstone && tombstoneDeadline(e, grace) <= now {
				delete(sh.m, k)
				s.bytes.Add(-r.cost)
				s.dropped.Add(1)
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n
}

func tombstoneDeadline(e *Entry, grace int64) int64 {
	if e.Expires != 0 {
		return e.Expires + grace
	}
	return e.Version.Time.WallTime() + grace
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	st := Stats{
		Bytes: s.bytes.Load(), MaxBytes: s.cfg.MaxBytes,
		Evictions: s.evictions.Load(), Expirations: s.expirations.Load(),
		TombstonesDropped: s.dropped.Load(), Visited: s.visited.Load(),
	}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for _, r := range sh.m {
			if r.e.Tombstone {
				st.Tombstones++
			} else {
				st.Keys++
			}
		}
		sh.mu.RUnlock()
	}
	return st
}

// collect returns the entries whose hash lies in r, sorted in r's order.
func (s *Store) collect(r Range) []*rec {
	var out []*rec
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for _, x := range sh.m {
			if r.Contains(x.hash) {
				out = append(out, x)
			}
		}
		sh.mu.RUnlock()
	}
	s.visited.Add(uint64(len(out)))
	slices.SortFunc(out, func(a, b *rec) int {
		if c := cmp.Compare(r.offset(a.hash), r.offset(b.hash)); c != 0 {
			return c
		}
		return cmp.Compare(a.e.Key, b.e.Key)
	})
	return out
}

func (s *Store) entryOf(x *rec) Entry {
	e := x.e
	if !e.Tombstone && e.Expires != 0 && e.Expires <= s.cfg.Now() {
		e.Tombstone, e.Value = true, nil
	}
	return e
}

// Scan appends to dst up to limit entries (at least 1; limit <= 0 means 100)
// whose key hash lies in r and that sort after c, in order of hash (in r's
// wrapping order) then key, and returns the cursor for the next page
// (Done when the range is exhausted). Tombstones are included (transfers
// must carry them); expired entries come as tombstones. No lock is held
// between pages, nor for a whole page: writes go on during a scan. Every key
// that is present for the whole scan is returned exactly once; a key written
// or deleted during the scan may or may not be.
func (s *Store) Scan(dst []Entry, r Range, c Cursor, limit int) ([]Entry, Cursor) {
	if c.Done {
		return dst, c
	}
	if limit <= 0 {
		limit = 100
	}
	all := s.collect(r)
	i := 0
	if c.Started {
		i, _ = slices.BinarySearchFunc(all, c, func(x *rec, c Cursor) int {
			if v := cmp.Compare(r.offset(x.hash), r.offset(c.Hash)); v != 0 {
				return v
			}
			if v := cmp.Compare(x.e.Key, c.Key); v != 0 {
				return v
			}
			return -1
		})
		for i < len(all) && all[i].hash == c.Hash && all[i].e.Key == c.Key {
			i++
		}
	}
	n := 0
	for ; i < len(all) && n < limit; i++ {
		dst = append(dst, s.entryOf(all[i]))
		c = Cursor{Started: true, Hash: all[i].hash, Key: all[i].e.Key}
		n++
	}
	if i == len(all) {
		c.Done = true
	}
	return dst, c
}

// Digest returns the digest tree of r (see Tree).
func (s *Store) Digest(r Range) *Tree {
	g := leafGeometry(r, s.cfg.DigestBits)
	leaves := make([]uint64, g.n)
	for _, x := range s.collect(r) {
		leaves[g.leaf(r.offset(x.hash))] += entryDigest(x.hash, x.e.Version)
	}
	return buildTree(r, s.cfg.DigestBits, leaves)
}

// Versions appends the keys and versions of every entry in r (meant for a
// differing digest leaf) to dst, in Scan order, tombstones included.
func (s *Store) Versions(dst []KeyVersion, r Range) []KeyVersion {
	for _, x := range s.collect(r) {
		e := s.entryOf(x)
		dst = append(dst, KeyVersion{Key: e.Key, Hash: x.hash, Version: e.Version, Tombstone: e.Tombstone})
	}
	return dst
}
