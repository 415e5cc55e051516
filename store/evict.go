package store

// Eviction: CLOCK with a 2-bit frequency counter (see the package doc).
//
// A write that leaves the store over Config.MaxBytes evicts, after
// releasing its own shard's lock: first from its own shard (keys are spread
// by hash, so every shard is a fair sample of the store), then, if that
// shard runs dry, from the others in turn, one shard lock at a time. The
// store can exceed its limit only by the writes in flight at one moment.

func (s *Store) over() bool { return s.bytes.Load() > s.cfg.MaxBytes }

// evict brings the store back under its limit, sparing block skip (the
// write that triggered it).
func (s *Store) evict(own *shard, skip block) {
	if s.evictShard(own, skip) {
		return
	}
	start := int(s.evictCounter.Add(1))
	for k := 0; k < numShards && s.over(); k++ {
		s.evictShard(&s.shards[(start+k)%numShards], skip)
	}
}

// evictShard runs sh's clock hand until the store is under its limit or
// the hand went round often enough to bring every counter to zero. It
// reports whether the store is under its limit.
func (s *Store) evictShard(sh *shard, skip block) bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	t := sh.tab.Load()
	n := len(t.slots)
	var now int64
	for steps := 0; steps < n*(maxFreq+1) && t.live > 0 && s.over(); steps++ {
		i := sh.hand
		if i >= n {
			i = 0
		}
		sh.hand = i + 1
		p := t.slots[i].p
		if p == nil || p == skip {
			continue
		}
		if exp := blkExpires(p); exp != 0 {
			if now == 0 {
				now = s.cfg.Now()
			}
			if !blkTombstone(p) && exp <= now {
				s.expireSlot(sh, t, i)
				continue
			}
		}
		if blkCool(p) > 0 {
			continue
		}
		s.removeSlot(sh, t, i)
		s.evictions.Add(1)
	}
	if t.needsShrink() {
		s.rebuild(sh, t, 0)
	}
	return !s.over()
}
