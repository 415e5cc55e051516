package quorum

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gridkv/gridkv/ring"
	"github.com/gridkv/gridkv/store"
)

// Handoff: the other half of rebalancing. When a ring change takes a range
// away from this node (it is among the range's old replicas and not among
// the new ones), the node keeps its copies until every new replica holds
// them, then drops them (store.Drop, no tombstone). Each round, for each
// such range, it lists the versions every current replica of the range
// holds (the listVersions message, many ranges per request: see
// handoffChunkKeys), and for each local key:
//
//   - if every current replica holds the key at this node's version or a
//     newer one, the local copy is dropped, but only that version: a newer
//     write that reached this node meanwhile (a coordinator still using the
//     old ring) is kept for the next round; and only if the ring the check
//     ran against is still in force (a range that came back to this node is
//     never dropped);
//   - otherwise the entry is pushed to the current replicas that lack it
//     and are not themselves still pulling the range (those read it from
//     this node anyway), and checked again in the next round.
//
// Tombstones are handed off like values. A range stays in the handoff set
// until a round finds no local copy left, and at least MoveDelay + Timeout
// after the ring change, so that writes of coordinators that swapped in
// the new ring late still meet a handoff. Rounds run after the pulls, after
// each ring change and every handoffRetry (HintInterval if shorter). A
// replica that cannot be asked (down, partitioned) holds the range's
// copies here until it answers.

type handoffJob struct {
	id    uint64
	r     ring.Range
	since time.Time // the ring change that took the range away
}

type handoffSet struct {
	mu   sync.Mutex
	jobs []handoffJob
	seq  uint64
	// emptied holds the ids of the jobs whose last round found no local
	// copy left (they stay in jobs until they settle).
	emptied map[uint64]bool
	// failed counts, per job id, the consecutive rounds that failed (a
	// replica did not answer, or refused).
	failed map[uint64]int
}

// HandedOff reports whether every range this node no longer replicates
// has been handed over (done): the last handoff round of each found no
// local copy left (every current replica held each entry and had finished
// pulling the range). A member that leaves (a ring without it) can stop
// once done without taking a copy of an acknowledged write away before
// the new replicas hold it. Writes that still reach the node (coordinators
// on the old ring) are handed over by later rounds, but done may be
// reported before such a round ran. blocked reports that the handoff
// cannot finish for now: each range not handed over failed its last two
// rounds (one of its replicas did not answer).
func (n *Node) HandedOff() (done, blocked bool) {
	n.hand.mu.Lock()
	defer n.hand.mu.Unlock()
	done, blocked = true, true
	for _, j := range n.hand.jobs {
		if !n.hand.emptied[j.id] {
			done = false
			if n.hand.failed[j.id] < 2 {
				blocked = false
			}
		}
	}
	return done, done || blocked
}

func (h *handoffSet) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.jobs)
}

// planHandoffs records the ranges this node replicated in old and no
// longer does in next (changes is ring.Diff(old, next)). Ranges still
// being handed off are kept for the parts this node does not replicate
// in next either; the parts that came back to it are forgotten.
func (n *Node) planHandoffs(changes []ring.Change, next *ringState, now time.Time) {
	n.hand.mu.Lock()
	defer n.hand.mu.Unlock()
	var jobs []handoffJob
	for _, j := range n.hand.jobs {
		for _, c := range overlapping(next.ranges, j.r) {
			if slices.Contains(c.To, n.cfg.ID) {
				continue
			}
			p, _ := intersect(j.r, c.Range)
			n.hand.seq++
			jobs = append(jobs, handoffJob{id: n.hand.seq, r: p, since: j.since})
		}
	}
	for _, c := range changes {
		if slices.Contains(c.From, n.cfg.ID) && !slices.Contains(c.To, n.cfg.ID) {
			n.hand.seq++
			jobs = append(jobs, handoffJob{id: n.hand.seq, r: c.Range, since: now})
		}
	}
	n.hand.jobs = jobs
	clear(n.hand.emptied) // the new jobs have not been checked yet
	clear(n.hand.failed)
}

// handoffLoop runs a handoff round after each round of pulls and every
// handoffRetry (HintInterval if shorter) while ranges are being handed
// off.
func (n *Node) handoffLoop() {
	defer n.wg.Done()
	retry := time.NewTicker(min(n.cfg.HintInterval, handoffRetry))
	defer retry.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-retry.C:
		case <-n.handKick:
		}
		n.runHandoffs()
	}
}

// handoffRetry bounds the time between handoff rounds while ranges are
// being handed off: a new replica that finished pulling lets the old ones
// drop their copies (and a leaving member close) soon after.
const handoffRetry = 2 * time.Second

// A round works on chunks of the ranges being handed off: the parts of
// ranges with about handoffChunkKeys local keys (at most maxRoots parts),
// handoffChunks chunks at a time. For each chunk it lists the versions
// every current replica holds in the chunk's ranges, all at once (the
// listVersions message, in pages of handoffPage versions), then pushes
// and drops as above. A member that leaves hands off thousands of small
// ranges (one per ring cell): that is a few round trips per replica
// instead of one per range and replica, each waiting its turn on a busy
// peer. A replica that failed a request is not asked again in the same
// round.
const (
	handoffChunkKeys = 16384
	handoffChunks    = 4
	handoffPage      = 16384
)

// handPiece is the part of a job's range that one replica set holds in
// the ring of the round, with this node's copies in it.
type handPiece struct {
	job  int // index in the round's jobs
	r    store.Range
	to   []string
	ours []store.KeyVersion
}

// runHandoffs runs one handoff round over every range being handed off.
func (n *Node) runHandoffs() {
	n.hand.mu.Lock()
	jobs := slices.Clone(n.hand.jobs)
	n.hand.mu.Unlock()
	rs := n.ring.Load()
	if len(jobs) == 0 || rs == nil {
		return
	}
	left := make([]int, len(jobs))
	errs := make([]error, len(jobs))
	var mu sync.Mutex // left, errs
	var bad sync.Map  // replicas that failed a request this round
	sem := make(chan struct{}, handoffChunks)
	var wg sync.WaitGroup
	run := func(ps []handPiece) {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			kept, perr := n.handOffChunk(rs, ps, &bad)
			mu.Lock()
			defer mu.Unlock()
			for i, p := range ps {
				left[p.job] += kept[i]
				if perr[i] != nil && errs[p.job] == nil {
					errs[p.job] = perr[i]
				}
			}
		})
	}
	var chunk []handPiece
	keys := 0
	for ji, j := range jobs {
		if n.ctx.Err() != nil {
			break
		}
		for _, c := range overlapping(rs.ranges, j.r) {
			if slices.Contains(c.To, n.cfg.ID) {
				continue // back to this node: nothing to hand off
			}
			p, _ := intersect(j.r, c.Range)
			ours := n.st.Versions(nil, toStore(p))
			if len(ours) == 0 {
				continue
			}
			chunk = append(chunk, handPiece{job: ji, r: toStore(p), to: c.To, ours: ours})
			keys += len(ours)
			if keys >= handoffChunkKeys || len(chunk) == maxRoots {
				run(chunk)
				chunk, keys = nil, 0
			}
		}
	}
	if len(chunk) > 0 && n.ctx.Err() == nil {
		run(chunk)
	}
	wg.Wait()
	if n.ctx.Err() != nil {
		return // the round may be incomplete: record nothing
	}
	settle := n.cfg.Timeout + max(n.cfg.MoveDelay, 0)
	n.hand.mu.Lock()
	defer n.hand.mu.Unlock()
	if n.hand.failed == nil {
		n.hand.failed = make(map[uint64]int)
	}
	if n.hand.emptied == nil {
		n.hand.emptied = make(map[uint64]bool)
	}
	settled := make(map[uint64]bool)
	for ji, j := range jobs {
		if err := errs[ji]; err != nil {
			n.cfg.Logger.Debug("quorum: range handoff incomplete", "range", j.r, "err", err)
			n.hand.failed[j.id]++
			continue
		}
		delete(n.hand.failed, j.id)
		if left[ji] == 0 {
			n.hand.emptied[j.id] = true
			if time.Since(j.since) >= settle {
				settled[j.id] = true
				delete(n.hand.emptied, j.id)
			}
		}
	}
	n.hand.jobs = slices.DeleteFunc(n.hand.jobs, func(x handoffJob) bool { return settled[x.id] })
}

// handOffChunk hands the pieces ps over to their replicas in rs (see the
// top of this file) and returns, per piece, how many local copies are
// left and what kept it from finishing.
func (n *Node) handOffChunk(rs *ringState, ps []handPiece, bad *sync.Map) (left []int, errs []error) {
	left = make([]int, len(ps))
	errs = make([]error, len(ps))
	// Each replica of the chunk, with the pieces it holds.
	var reps []*replicaListing
	lists := make(map[string]*replicaListing)
	for i, p := range ps {
		left[i] = len(p.ours)
		for _, id := range p.to {
			l := lists[id]
			if l == nil {
				l = &replicaListing{id: id}
				lists[id] = l
				reps = append(reps, l)
			}
			l.pieces = append(l.pieces, i)
		}
	}
	var wg sync.WaitGroup
	for _, l := range reps {
		wg.Go(func() { n.listReplica(ps, l, bad) })
	}
	wg.Wait()

	type dropped struct {
		kv    store.KeyVersion
		piece int
	}
	var drop []dropped
	for i, p := range ps {
		for _, id := range p.to {
			if err := lists[id].err; err != nil {
				errs[i] = err
			}
		}
		if errs[i] != nil {
			continue
		}
		for _, kv := range p.ours {
			held := true
			for _, id := range p.to {
				l := lists[id]
				// A replica still receiving the range may hold the key (from
				// read repair): keep the copy until it has finished pulling,
				// as it may be reading this node as a source right now.
				receiving := l.receiving[i]
				if v, ok := l.m[kv.Key]; ok && !kv.Version.Newer(v) && !receiving {
					continue
				}
				held = false
				if !receiving {
					l.push = append(l.push, kv.Key)
					if k := l.pushed; len(k) == 0 || k[len(k)-1] != i {
						l.pushed = append(l.pushed, i)
					}
				}
			}
			if held {
				drop = append(drop, dropped{kv, i})
			}
		}
	}
	for _, l := range reps {
		if len(l.push) > 0 {
			wg.Go(func() { l.pushErr = n.pushKeys(l.id, l.push) })
		}
	}
	wg.Wait()
	for _, l := range reps {
		if l.pushErr != nil {
			for _, i := range l.pushed {
				errs[i] = l.pushErr
			}
		}
	}
	// The check above holds for rs only: drop nothing if another ring
	// came meanwhile (SetRing takes dropMu to swap).
	total := 0
	n.dropMu.Lock()
	if n.ring.Load() == rs {
		for _, d := range drop {
			if n.st.Drop(d.kv.Key, d.kv.Version) {
				left[d.piece]--
				total++
			}
		}
	}
	n.dropMu.Unlock()
	n.st8.handedOff.Add(uint64(total))
	return left, errs
}

// replicaListing is what one replica holds in the pieces of a chunk, and
// what the chunk's round pushes to it.
type replicaListing struct {
	id        string
	pieces    []int // the indices of the chunk's pieces it replicates, increasing
	m         map[string]store.Version
	receiving map[int]bool // by piece index: the replica is still receiving the piece's range
	err       error
	push      []string // the keys it lacks (at this node's version)
	pushed    []int    // the pieces of those keys, increasing
	pushErr   error
}

// listReplica lists the versions replica l.id holds in its pieces
// l.pieces of ps, page by page, into l.
func (n *Node) listReplica(ps []handPiece, l *replicaListing, bad *sync.Map) {
	id, idx := l.id, l.pieces
	if _, failed := bad.Load(id); failed {
		l.err = fmt.Errorf("%s: failed earlier in this round", id)
		return
	}
	fail := func(err error) {
		l.err = fmt.Errorf("%s: %w", id, err)
		bad.Store(id, true)
	}
	q := listVersionsReq{ranges: make([]store.Range, len(idx)), limit: handoffPage}
	for k, i := range idx {
		q.ranges[k] = ps[i].r
	}
	l.m = make(map[string]store.Version)
	l.receiving = make(map[int]bool)
	for q.index < len(q.ranges) {
		b, err := n.call(n.ctx, id, encodeListVersions(nil, q))
		if err != nil {
			fail(err)
			return
		}
		p, err := decodeListVersionsReply(b)
		if err != nil {
			fail(err)
			return
		}
		if p.index < q.index || p.index > len(q.ranges) || p.index == q.index && p.cursor == q.cursor {
			fail(fmt.Errorf("quorum: versions listing made no progress (range %d of %d)", q.index, len(q.ranges)))
			return
		}
		for _, k := range p.receiving {
			if k < q.index || k > p.index || k >= len(q.ranges) {
				fail(fmt.Errorf("quorum: versions listing: receiving index %d outside the page", k))
				return
			}
			l.receiving[idx[k]] = true
		}
		for _, kv := range p.kvs {
			l.m[kv.Key] = kv.Version
		}
		q.index, q.cursor = p.index, p.cursor
	}
}

// serveListVersions answers a listVersions request (see wire.go): one
// page of the versions this node holds in the requested ranges. A range
// this node is still receiving is reported as such and not listed: the
// asker neither drops nor pushes on the word of a receiving replica.
func (n *Node) serveListVersions(r reader) ([]byte, error) {
	q, err := decodeListVersions(r)
	if err != nil {
		return nil, err
	}
	limit := max(q.limit, 1)
	p := listVersionsReply{index: q.index, cursor: q.cursor}
	first, size := q.index, 0
	skip := make([]bool, len(q.ranges))
	for _, i := range n.receivingAmong(q.ranges, first, len(q.ranges)-1) {
		skip[i] = true
	}
	var es []store.Entry
page:
	for p.index < len(q.ranges) && len(p.kvs) < limit {
		if skip[p.index] {
			p.index++
			p.cursor = store.Cursor{}
			continue
		}
		var next store.Cursor
		es, next = n.st.Scan(es[:0], q.ranges[p.index], p.cursor, limit-len(p.kvs))
		for i, e := range es {
			p.kvs = append(p.kvs, store.KeyVersion{Key: e.Key, Version: e.Version, Tombstone: e.Tombstone})
			size += len(e.Key) + minVersionSize + 2
			if size >= maxBatchBytes && (i+1 < len(es) || !next.Done) {
				p.cursor = store.Cursor{Started: true, Hash: store.KeyHash(e.Key), Key: e.Key}
				break page
			}
		}
		if next.Done {
			p.index++
			p.cursor = store.Cursor{}
		} else {
			p.cursor = next
		}
	}
	// The ranges of the page receiving before or after the listing.
	hi := min(p.index, len(q.ranges)-1)
	for _, i := range n.receivingAmong(q.ranges, first, hi) {
		skip[i] = true
	}
	for i := first; i <= hi; i++ {
		if skip[i] {
			p.receiving = append(p.receiving, i)
		}
	}
	return encodeListVersionsReply(nil, p), nil
}

// receivingAmong returns the indices i in [lo, hi] of the ranges rgs[i]
// that meet a range this node is still pulling: moveSet.overlaps of each,
// with a binary search instead of a walk over the pulled ranges.
func (n *Node) receivingAmong(rgs []store.Range, lo, hi int) []int {
	p := n.moves.recv.Load()
	if p == nil || len(p.ranges) == 0 || lo > hi {
		return nil
	}
	recv := p.ranges // sorted by Start
	// maxLast[k]: the largest last hash of recv[:k+1].
	maxLast := make([]uint64, len(recv))
	var m uint64
	for k, x := range recv {
		m = max(m, x.End-1)
		maxLast[k] = m
	}
	var out []int
	for i := lo; i <= hi; i++ {
		r := rgs[i]
		if r.Start == r.End || r.End != 0 && r.End < r.Start {
			// The whole space, or wrapping (no ring range does).
			if n.moves.overlaps(r) {
				out = append(out, i)
			}
			continue
		}
		// The pulled ranges that start at or before r's last hash; one
		// of them meets r if it ends at or after r's start.
		k, _ := slices.BinarySearchFunc(recv, r.End-1, func(x ring.Range, h uint64) int {
			if x.Start <= h {
				return -1
			}
			return 1
		})
		if k > 0 && maxLast[k-1] >= r.Start {
			out = append(out, i)
		}
	}
	return out
}

// pushKeys sends the local entries of keys to peer, in batches.
func (n *Node) pushKeys(peer string, keys []string) error {
	for len(keys) > 0 {
		es := make([]store.Entry, 0, min(len(keys), maxBatch))
		for _, k := range keys[:min(len(keys), maxBatch)] {
			if e, ok := n.st.Read(k); ok {
				es = append(es, e)
			}
		}
		msg, sent, err := encodeBatch(nil, mBatch, es)
		if err != nil {
			return err
		}
		b, err := n.call(n.ctx, peer, msg)
		if err == nil {
			_, err = decodeBatchAck(b)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", peer, err)
		}
		n.st8.handoffPushed.Add(uint64(sent))
		keys = keys[min(len(keys), max(sent, 1)):]
	}
	return nil
}

// replicates reports whether this node is one of key hash h's replicas
// in rs.
func (n *Node) replicates(rs *ringState, h uint64) bool {
	if rs.self < 0 {
		return false
	}
	var idx [maxReplicas]int
	return slices.Contains(rs.r.Replicas(h, n.cfg.N, idx[:0]), rs.self)
}
