package quorum

import (
	"context"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gridkv/gridkv/store"
)

// Reads during a move. A replica still receiving a key's range (see
// rebalance.go) completes its answer to a read of that key: it reads the
// key from the range's sources it has not read completely yet, as many as
// its pull needs to be complete (the same rule as runMove), and answers
// with the highest version among theirs and its own, as an answer that
// counts. If it cannot hear from enough sources in time, it answers
// "receiving" as before (the answer does not count). The safety argument
// is in doc.go ("# Ring changes").

// moveReadLimit bounds the reads a node completes from sources at once;
// beyond it, reads of ranges being received answer "receiving".
const moveReadLimit = 64

// proxyGrace: a node completes reads from sources only once it has been
// receiving for this long. Quick (which cannot see the node) stops serving
// reads inline as soon as any node of the process is receiving, but a
// read Quick let through just before may reach Handle just after the
// ranges were published; it must not make network calls on the
// connection's reading goroutine. Within the grace such reads answer
// "receiving" (not counting), as they did before reads were completed.
// (A reading goroutine stalled longer than the grace between Quick and
// Handle would still make the calls, bounded by Timeout.)
const proxyGrace = 100 * time.Millisecond

// receivingNodes counts the Nodes of this process that receive some
// range; while it is not zero, Quick serves no read inline.
var receivingNodes atomic.Int32

// lookup returns the pending job whose range holds key hash h, and when
// the node started receiving.
func (m *moveSet) lookup(h uint64) (moveJob, time.Time, bool) {
	p := m.recv.Load()
	if p == nil {
		return moveJob{}, time.Time{}, false
	}
	i := p.find(h)
	if i < 0 {
		return moveJob{}, time.Time{}, false
	}
	return p.jobs[i], p.since, true
}

// sendLocal asks this node, which is receiving key's range, for its
// completed answer to a read of key (moveRead), in a goroutine: it makes
// network calls. The reply comes like a peer's, as target i's.
func (c *batchCall) sendLocal(i int, key string, versionOnly bool) bool {
	if !c.n.enter(1) {
		return false
	}
	c.left.Add(1)
	go func() {
		e, found, pending := c.n.moveRead(&c.cx, key, false)
		b, err := encodeReadReply(nil, e, found, pending, versionOnly)
		c.finish(i, c.n.cfg.ID, b, err)
	}()
	return true
}

// srcReply is a source's answer to a direct read.
type srcReply struct {
	b   []byte
	err error
}

// moveRead is this node's answer to a read of key, a key of a range it
// is receiving: its own entry merged with the sources' (see the top of
// this file), and pending if that answer still must not count. inline:
// the read may be served on a transport's reading goroutine (Handle), so
// it must not block within proxyGrace of the node starting to receive.
func (n *Node) moveRead(ctx context.Context, key string, inline bool) (e store.Entry, found, pending bool) {
	h := store.KeyHash(key)
	j, since, ok := n.moves.lookup(h)
	if !ok || (inline && (since.IsZero() || time.Since(since) < proxyGrace)) || ctx.Err() != nil {
		e, found = n.st.Read(key)
		return e, found, n.moves.receiving(h)
	}
	if n.moves.reads.Add(1) > moveReadLimit {
		n.moves.reads.Add(-1)
		n.moves.refused.Add(1)
		e, found = n.st.Read(key)
		return e, found, true
	}
	defer n.moves.reads.Add(-1)
	n.moves.proxied.Add(1)

	// The rule of runMove: sourcesNeeded of the sources read completely,
	// sources that are themselves receiving the key's range not counting
	// unless every source answered. Sources already read completely by
	// the pull count without being asked again.
	need := n.sourcesNeeded(j)
	got := n.moves.completed(j.id)
	complete := 0
	for _, src := range j.from {
		if slices.Contains(got, src) {
			complete++
		}
	}
	answered := complete
	var best store.Entry
	has := false
	if complete < need && answered < len(j.from) {
		cx, cancel := context.WithDeadline(ctx, n.deadline(ctx))
		defer cancel()
		req := encodeRead(make([]byte, 0, 8+len(key)), key, readDirect)
		// Every source at once: one that is down or slow must not hold
		// the answer up (the coordinator waits for it).
		res := make(chan srcReply, len(j.from)-complete)
		sent := 0
		for _, src := range j.from {
			if slices.Contains(got, src) {
				continue
			}
			if !n.enter(1) {
				break
			}
			sent++
			if n.async != nil {
				n.async.Go(cx, src, req, func(b []byte, err error) {
					defer n.wg.Done()
					res <- srcReply{b, err}
				})
				continue
			}
			go func() {
				defer n.wg.Done()
				b, err := n.net.Call(cx, src, req)
				res <- srcReply{b, err}
			}()
		}
	wait:
		for ; sent > 0 && complete < need && answered < len(j.from); sent-- {
			select {
			case r := <-res:
				if r.err != nil {
					continue
				}
				rr, err := decodeReadReply(r.b)
				if err != nil {
					continue
				}
				answered++
				if !rr.pending {
					complete++
				}
				if rr.found && (!has || rr.e.Version.Newer(best.Version)) {
					best, has = rr.e, true
				}
			case <-cx.Done():
				break wait
			}
		}
	}
	e, found = n.st.Read(key)
	if has && (!found || best.Version.Newer(e.Version)) {
		// This node replicates the key: keep the winner, as the pull
		// would (applyRemote skips an entry from too far in the future;
		// the answer still carries it, as the source's own would).
		if _, err := n.applyRemote(best); err != nil {
			n.cfg.Logger.Debug("quorum: read during a move: apply failed", "key", key, "err", err)
		}
		if cur, ok := n.st.Read(key); ok && !best.Version.Newer(cur.Version) {
			e, found = cur, true
		} else {
			e, found = best, true
		}
	}
	if complete >= need || answered == len(j.from) {
		n.moves.counted.Add(1)
		return e, found, false
	}
	return e, found, true
}
