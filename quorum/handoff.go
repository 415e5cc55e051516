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
// holds (the versions message), and for each local key:
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
// each ring change and every HintInterval. A replica that cannot be asked
// (down, partitioned) holds the range's copies here until it answers.

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
// HintInterval while ranges are being handed off.
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

// handoffWorkers is how many ranges a handoff round works on at once. A
// round asks each current replica of each range for its versions: a
// member that leaves hands off thousands of small ranges, and under load
// each request waits its turn on a busy peer.
const handoffWorkers = 64

// runHandoffs runs one handoff round over every range being handed off.
func (n *Node) runHandoffs() {
	n.hand.mu.Lock()
	jobs := slices.Clone(n.hand.jobs)
	n.hand.mu.Unlock()
	settle := n.cfg.Timeout + max(n.cfg.MoveDelay, 0)
	sem := make(chan struct{}, handoffWorkers)
	var wg sync.WaitGroup
	for _, j := range jobs {
		if n.ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			left, err := n.handOffJob(j)
			n.hand.mu.Lock()
			defer n.hand.mu.Unlock()
			if n.hand.failed == nil {
				n.hand.failed = make(map[uint64]int)
			}
			if err != nil {
				n.cfg.Logger.Debug("quorum: range handoff incomplete", "range", j.r, "err", err)
				n.hand.failed[j.id]++
				return
			}
			delete(n.hand.failed, j.id)
			if left == 0 {
				if n.hand.emptied == nil {
					n.hand.emptied = make(map[uint64]bool)
				}
				n.hand.emptied[j.id] = true
			}
			if left == 0 && time.Since(j.since) >= settle {
				n.hand.jobs = slices.DeleteFunc(n.hand.jobs, func(x handoffJob) bool { return x.id == j.id })
				delete(n.hand.emptied, j.id)
			}
		}()
	}
	wg.Wait()
}

// handOffJob runs one round of job j against the ring in force and
// returns how many local copies of its range are left.
func (n *Node) handOffJob(j handoffJob) (left int, err error) {
	rs := n.ring.Load()
	for _, c := range overlapping(rs.ranges, j.r) {
		if slices.Contains(c.To, n.cfg.ID) {
			continue // back to this node: nothing to hand off
		}
		p, _ := intersect(j.r, c.Range)
		k, herr := n.handOff(rs, toStore(p), c.To, 0)
		left += k
		if herr != nil && err == nil {
			err = herr
		}
	}
	return left, err
}

// handOff hands range rg over to its replicas in rs (see the top of this
// file) and returns how many local copies are left in rg.
func (n *Node) handOff(rs *ringState, rg store.Range, replicas []string, depth int) (int, error) {
	ours := n.st.Versions(nil, rg)
	if len(ours) == 0 {
		return 0, nil
	}
	const limit = 4096
	theirs := make([]map[string]store.Version, len(replicas))
	receiving := make([]bool, len(replicas))
	for i, id := range replicas {
		b, err := n.call(n.ctx, id, encodeVersions(nil, rg, limit))
		if err != nil {
			return len(ours), fmt.Errorf("%s: %w", id, err)
		}
		vr, err := decodeVersionsReply(b)
		if err != nil {
			return len(ours), fmt.Errorf("%s: %w", id, err)
		}
		if vr.truncated {
			parts := splitRange(rg, 16)
			if depth >= 8 || len(parts) < 2 {
				return len(ours), fmt.Errorf("quorum: range %v on %s too dense to list", rg, id)
			}
			left := 0
			var first error
			for _, p := range parts {
				k, err := n.handOff(rs, p, replicas, depth+1)
				left += k
				if err != nil && first == nil {
					first = err
				}
			}
			return left, first
		}
		m := make(map[string]store.Version, len(vr.kvs))
		for _, kv := range vr.kvs {
			m[kv.Key] = kv.Version
		}
		theirs[i], receiving[i] = m, vr.receiving
	}
	var drop []store.KeyVersion
	push := make([][]string, len(replicas))
	for _, kv := range ours {
		held := true
		for i := range replicas {
			// A replica still receiving the range may hold the key (from
			// read repair): keep the copy until it has finished pulling,
			// as it may be reading this node as a source right now.
			if v, ok := theirs[i][kv.Key]; ok && !kv.Version.Newer(v) && !receiving[i] {
				continue
			}
			held = false
			if !receiving[i] {
				push[i] = append(push[i], kv.Key)
			}
		}
		if held {
			drop = append(drop, kv)
		}
	}
	var err error
	for i, keys := range push {
		if perr := n.pushKeys(replicas[i], keys); perr != nil && err == nil {
			err = perr
		}
	}
	dropped := 0
	// The check above holds for rs only: drop nothing if another ring
	// came meanwhile (SetRing takes dropMu to swap).
	n.dropMu.Lock()
	if n.ring.Load() == rs {
		for _, kv := range drop {
			if n.st.Drop(kv.Key, kv.Version) {
				dropped++
			}
		}
	}
	n.dropMu.Unlock()
	n.st8.handedOff.Add(uint64(dropped))
	return len(ours) - dropped, err
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
