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
// for keys of the range as receiving: none of its answers count toward a
// read quorum, in any mode. So reads during a move never return a false
// not-found, nor a version older than an acknowledged write.

type moveJob struct {
	id   uint64
	r    ring.Range
	from []string
}

type moveSet struct {
	mu   sync.Mutex
	jobs []moveJob
	seq  uint64
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

// planMoves records the ranges this node newly replicates in next. A
// range it was still pulling stays pending for the parts it still
// replicates, with the union of its sources and the previous ring's
// replicas as sources (either may hold writes it has not got); the parts
// it no longer replicates are dropped.
func (n *Node) planMoves(old, next *ringState) {
	changes := ring.Diff(old.r, next.r, n.cfg.N)
	n.moves.mu.Lock()
	var jobs []moveJob
	for _, j := range n.moves.jobs {
		for _, c := range overlapping(next.ranges, j.r) {
			if !contains(c.To, n.cfg.ID) {
				continue
			}
			p, _ := intersect(j.r, c.Range)
			from := slices.Clone(j.from)
			for _, id := range replicasAt(old.ranges, p.Start) {
				if id != n.cfg.ID && !contains(from, id) {
					from = append(from, id)
				}
			}
			jobs = append(jobs, n.moves.job(p, from))
		}
	}
	for _, c := range changes {
		if contains(c.To, n.cfg.ID) && !contains(c.From, n.cfg.ID) {
			jobs = append(jobs, n.moves.job(c.Range, c.From))
		}
	}
	n.moves.jobs = jobs
	n.moves.publish()
	n.moves.mu.Unlock()
	n.planHandoffs(changes, next, time.Now())
	select {
	case n.ringKick <- struct{}{}:
	default:
	}
}

// job returns a new job with a fresh id; m.mu is held.
func (m *moveSet) job(r ring.Range, from []string) moveJob {
	m.seq++
	return moveJob{id: m.seq, r: r, from: from}
}

// last returns the last hash of r (End 0 stands for 2^64).
func last(r ring.Range) uint64 { return r.End - 1 }

// intersect returns the common part of two ring ranges.
func intersect(a, b ring.Range) (ring.Range, bool) {
	lo, hi := max(a.Start, b.Start), min(last(a), last(b))
	if lo > hi {
		return ring.Range{}, false
	}
	return ring.Range{Start: lo, End: hi + 1}, true
}

// overlapping returns the entries of a range table (sorted, covering the
// space) that meet r.
func overlapping(tab []ring.Change, r ring.Range) []ring.Change {
	i, _ := slices.BinarySearchFunc(tab, r.Start, func(c ring.Change, h uint64) int {
		switch {
		case last(c.Range) < h:
			return -1
		case c.Range.Start > h:
			return 1
		}
		return 0
	})
	j := i
	for j < len(tab) && tab[j].Range.Start <= last(r) {
		j++
		if tab[j-1].Range.End == 0 {
			break
		}
	}
	return tab[i:j]
}

// replicasAt returns the replicas of hash h in a range table.
func replicasAt(tab []ring.Change, h uint64) []string {
	if cs := overlapping(tab, ring.Range{Start: h, End: h + 1}); len(cs) > 0 {
		return cs[0].To
	}
	return nil
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
			n.moves.jobs = append(n.moves.jobs, n.moves.job(c.Range, from))
		}
	}
	n.moves.publish()
	n.moves.mu.Unlock()
	select {
	case n.ringKick <- struct{}{}:
	default:
	}
}

// moveLoop pulls receiving ranges MoveDelay after a ring change, and
// retries the unfinished ones every HintInterval. After each round it
// starts a handoff round (handoff.go).
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
	// A few ranges at a time: a move of many small ranges would otherwise
	// take a round trip per range and source, one after another.
	sem := make(chan struct{}, movePullers)
	var wg sync.WaitGroup
	for _, j := range jobs {
		if n.ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if n.runMove(j) {
				n.moves.mu.Lock()
				// By id: if a ring change replaced the job meanwhile
				// (other sources), the new one still has to run.
				n.moves.jobs = slices.DeleteFunc(n.moves.jobs, func(x moveJob) bool { return x.id == j.id })
				n.moves.publish()
				n.moves.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Hand off what this node no longer replicates, in handoffLoop: a
	// replica that does not answer must not hold up the next pulls.
	select {
	case n.handKick <- struct{}{}:
	default:
	}
}

// movePullers is how many ranges a node pulls (or hands off) at once.
const movePullers = 8

// runMove pulls one range and reports whether it is complete.
func (n *Node) runMove(j moveJob) bool {
	// Every write acknowledged by W old replicas is on at least one of
	// any len(from)-W+1 of them. A source that is itself receiving the
	// range (it restarted empty, or joined too) does not count; but when
	// every source answered, nobody holds more than what was pulled (a
	// fresh cluster whose nodes all start with Join, for example).
	need := len(j.from) - min(n.cfg.W, len(j.from)) + 1
	complete, answered := 0, 0
	for _, src := range j.from {
		// The first complete source is copied whole (Scan pages); the
		// others only for the keys whose versions differ.
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
	return complete >= need || answered == len(j.from)
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
