package store

// Sweep runs one pass of the background sweeper now: in each shard, under
// that shard's lock only, it examines at most Config.SweepBatch slots from
// where the previous pass stopped, turns expired values into tombstones
// (same version) and drops tombstones past their grace period. It returns
// how many entries it changed. The background sweeper calls it every
// Config.SweepInterval; tests with a manual clock call it directly.
func (s *Store) Sweep() int {
	now := s.cfg.Now()
	n := 0
	for i := range s.shards {
		n += s.sweepShard(&s.shards[i], now)
	}
	return n
}

func (s *Store) sweepShard(sh *shard, now int64) int {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	t := sh.tab.Load()
	if t.live == 0 {
		return 0
	}
	n, changed := len(t.slots), 0
	for k := 0; k < s.cfg.SweepBatch && k < n; k++ {
		i := sh.sweepHand
		if i >= n {
			i = 0
		}
		sh.sweepHand = i + 1
		p := t.slots[i].p
		if p == nil {
			continue
		}
		if blkTombstone(p) {
			if s.tombstoneDeadline(p) <= now {
				s.removeSlot(sh, t, i)
				s.dropped.Add(1)
				changed++
			}
			continue
		}
		if exp := blkExpires(p); exp != 0 && exp <= now {
			if exp+s.graceMillis <= now { // expired and past its grace: drop it at once
				s.removeSlot(sh, t, i)
				s.expirations.Add(1)
				s.dropped.Add(1)
			} else {
				s.expireSlot(sh, t, i)
			}
			changed++
		}
	}
	if t.needsShrink() {
		s.rebuild(sh, t, 0)
	}
	return changed
}
