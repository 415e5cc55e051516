package quorum

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridkv/gridkv/ring"
	"github.com/gridkv/gridkv/store"
)

// Rebalancing. When the ring changes, every node computes ring.Diff of
// the old and the new ring. For each range it newly replicates, it
// becomes "receiving": after MoveDelay (so the other nodes swap in the new
// ring too) it pulls the range from the old replicas: page by page
// (store.Scan) from the first one that answers, then from each other one
// only the keys whose versions differ from the local ones (a versions
// listing, much smaller than the data). Writes keep arriving
// meanwhile (coordinators with the new ring send them). Until enough old
// replicas were read completely (all but W-1 of them, so that every write
// acknowledged by W old replicas is included), the node marks its answers
// for keys of the range as receiving: a "not found" from it does not count
// toward any read quorum, and in linearizable mode none of its answers
// count. So reads during a move never return a false not-found.

type moveJob struct {
	r    ring.Range
	from []string
}

type moveSet struct {
	mu   sync.Mutex
	jobs []moveJob
	// recv mirrors the jobs' ranges, sorted, for the lock-free check on
	// every read.
	recv atomic.Pointer[[]ring.Range]
}

// receiving reports whether key hash h lies in a range this node is still
// pulling.
func (m *moveSet) receiving(h uint64) bool {
	p := m.recv.Load()
	if p == nil {
		return false
	}
	rs := *p
	i, _ := slices.BinarySearchFunc(rs, h, func(r ring.Range, h uint64) int {
		switch {
		case r.End != 0 && r.End <= h:
			return -1
		case r.Start > h:
			return 1
		}
		return 0
	})
	return i < len(rs) && rs[i].Contains(h)
}

// overlaps reports whether r (a ring range as store.Range: End 0 is
// 2^64, Start == End is everything) meets a range this node is still
// pulling.
func (m *moveSet) overlaps(r store.Range) bool {
	p := m.recv.Load()
	if p == nil {
		return false
	}
	last := r.End - 1 // End 0 → 2^64-1
	whole := r.Start == r.End
	for _, x := range *p {
		if whole || (x.Start <= last && r.Start <= x.End-1) {
			return true
		}
	}
	return false
}

func (m *moveSet) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.jobs)
}

// publish refreshes recv; m.mu is held.
func (m *moveSet) publish() {
	rs := make([]ring.Range, len(m.jobs))
	for i, j := range m.jobs {
		rs[i] = j.r
	}
	slices.SortFunc(rs, func(a, b ring.Range) int {
		switch {
		case a.Start < b.Start:
			return -1
		case a.Start > b.Start:
			return 1
		}
		return 0
	})
	m.recv.Store(&rs)
}

// planMoves records the ranges this node newly replicates in next and
// drops pending ones it no longer replicates.
func (n *Node) planMoves(old, next *ringState) {
	changes := ring.Diff(old.r, next.r, n.cfg.N)
	var idx [maxReplicas]int
	n.moves.mu.Lock()
	kept := n.moves.jobs[:0]
	for _, j := range n.moves.jobs {
		// Still a replica of it in the new ring? (Ranges never straddle a
		// change of replicas within one ring, so checking the start is
		// enough for ranges that did not change again; a range that did
		// change again is in changes below.)
		reps := next.r.Replicas(j.r.Start, n.cfg.N, idx[:0])
		if next.self >= 0 && slices.Contains(reps, next.self) && !overlapsAny(j.r, changes) {
			kept = append(kept, j)
		}
	}
	n.moves.jobs = kept
	for _, c := range changes {
		if contains(c.To, n.cfg.ID) && !contains(c.From, n.cfg.ID) {
			n.moves.jobs = append(n.moves.jobs, moveJob{r: c.Range, from: c.From})
		}
	}
	n.moves.publish()
	n.moves.mu.Unlock()
	select {
	case n.ringKick <- struct{}{}:
	default:
	}
}

// planJoin, for Config.Join: every range this node replicates in rs is
// pulled from its other replicas.
func (n *Node) planJoin(rs *ringState) {
	n.moves.mu.Lock()
	for _, c := range rs.ranges {
		if !contains(c.To, n.cfg.ID) {
			continue
		}
		from := slices.DeleteFunc(slices.Clone(c.To), func(id string) bool { return id == n.cfg.ID })
		if len(from) > 0 {
			n.moves.jobs = append(n.moves.jobs, moveJob{r: c.Range, from: from})
		}
	}
	n.moves.publish()
	n.moves.mu.Unlock()
	select {
	case n.ringKick <- struct{}{}:
	default:
	}
}

func overlapsAny(r ring.Range, cs []ring.Change) bool {
	end := func(x ring.Range) uint64 { return x.End - 1 } // last hash (End 0 → 2^64-1)
	for _, c := range cs {
		if r.Start <= end(c.Range) && c.Range.Start <= end(r) {
			return true
		}
	}
	return false
}

// moveLoop pulls receiving ranges MoveDelay after a ring change, and
// retries the unfinished ones every HintInterval.
func (n *Node) moveLoop() {
	defer n.wg.Done()
	retry := time.NewTicker(n.cfg.HintInterval)
	defer retry.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-retry.C:
		case <-n.ringKick:
			if n.cfg.MoveDelay > 0 {
				select {
				case <-n.ctx.Done():
					return
				case <-time.After(n.cfg.MoveDelay):
				}
			}
		}
		n.runMoves()
	}
}

// runMoves pulls every pending range once.
func (n *Node) runMoves() {
	n.moves.mu.Lock()
	jobs := slices.Clone(n.moves.jobs)
	n.moves.mu.Unlock()
	for _, j := range jobs {
		if n.ctx.Err() != nil {
			return
		}
		// Every write acknowledged by W old replicas is on at least one
		// of any len(from)-W+1 of them.
		// A source that is itself receiving the range (it restarted
		// empty, or joined too) does not count; but when every source
		// answered, nobody holds more than what was pulled (a fresh
		// cluster whose nodes all start with Join, for example).
		need := len(j.from) - min(n.cfg.W, len(j.from)) + 1
		complete, answered := 0, 0
		for _, src := range j.from {
			// The first complete source is copied whole (Scan pages);
			// the others only for the keys whose versions differ.
			var receiving bool
			var err error
			if complete == 0 {
				receiving, err = n.pull(n.ctx, src, toStore(j.r))
			} else {
				receiving, err = n.syncRange(n.ctx, src, toStore(j.r), 0, true)
			}
			if err != nil {
				n.cfg.Logger.Debug("quorum: range pull failed", "from", src, "range", j.r, "err", err)
				continue
			}
			answered++
			if !receiving {
				complete++
			}
		}
		if complete < need && answered < len(j.from) {
			continue
		}
		n.moves.mu.Lock()
		n.moves.jobs = slices.DeleteFunc(n.moves.jobs, func(x moveJob) bool { return x.r == j.r })
		n.moves.publish()
		n.moves.mu.Unlock()
	}
}

// pull copies range rg from peer src into the local store and reports
// whether src said it was itself still receiving the range.
func (n *Node) pull(ctx context.Context, src string, rg store.Range) (receiving bool, err error) {
	var c store.Cursor
	for !c.Done {
		b, err := n.call(ctx, src, encodeScan(nil, rg, c, 512))
		if err != nil {
			return false, err
		}
		sr, err := decodeScanReply(b)
		if err != nil {
			return false, err
		}
		receiving = receiving || sr.receiving
		for _, e := range sr.es {
			if _, err := n.applyRemote(e); err != nil {
				return false, err
			}
		}
		n.st8.moved.Add(uint64(len(sr.es)))
		if !sr.next.Done && sr.next == c {
			return false, fmt.Errorf("quorum: scan of %v on %s made no progress", rg, src)
		}
		c = sr.next
	}
	return receiving, nil
}
