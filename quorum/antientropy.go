package quorum

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"time"

	"github.com/gridkv/gridkv/ring"
	"github.com/gridkv/gridkv/store"
)

// Anti-entropy. For every peer it shares ranges with, a node sends the
// digest roots of those ranges (one roots message per 4096 ranges; the
// store keeps per-bucket sums, so a root costs O(buckets), not O(keys)).
// The peer answers with the ranges whose roots differ; for each, the node
// fetches the peer's key versions (splitting ranges with too many keys),
// compares them with its own, pushes the entries it has newer and pulls
// the ones the peer has newer. Only differing keys travel, and one side
// does both directions, so an idle cluster exchanges one message per
// peer and round.

// checkRootsBudget bounds what one roots request costs its receiver: the
// widths of its ranges may add up to the whole hash space (2^64) at most.
// A node sends ranges it shares with the peer, which are disjoint, so its
// requests never exceed that. Without the bound, ~100 KB naming the whole
// space maxRoots times would make the receiver build maxRoots digests of
// every bucket (4096 × 2^DigestBits bucket sums, and as many leaves
// allocated). Within it, a request costs at most 2^DigestBits +
// 2·maxRoots leaves, as one full anti-entropy round with the peer does,
// plus the entries of at most two cut buckets per range.
func checkRootsBudget(items []rootItem) error {
	var hi, lo uint64 // the sum of widths, as a 128-bit number
	for _, it := range items {
		w := it.r.End - it.r.Start // mod 2^64; 0 is the whole space
		if w == 0 {
			hi++
		} else {
			var c uint64
			lo, c = bits.Add64(lo, w, 0)
			hi += c
		}
		if hi > 1 || (hi == 1 && lo > 0) {
			return errRootsOverBudget
		}
	}
	return nil
}

var errRootsOverBudget = errors.New("roots request covers more than the whole hash space (ranges repeated or overlapping); a node's roots requests cover disjoint ranges")

// rangeTable returns every hash range of r with its replicas (up to n),
// in hash order: ring.Diff against a one-member ring that shares no
// member reports every range.
func rangeTable(r *ring.Ring, n int) []ring.Change {
	none, err := ring.New([]ring.Member{{ID: "\x00quorum: no member"}}, ring.Config{Points: 1})
	if err != nil {
		return nil
	}
	return ring.Diff(none, r, n)
}

func toStore(r ring.Range) store.Range { return store.Range{Start: r.Start, End: r.End} }

// sharedRanges returns the ranges that both this node and peer replicate.
func (n *Node) sharedRanges(rs *ringState, peer string) []store.Range {
	var out []store.Range
	for _, c := range rs.ranges {
		if slices.Contains(c.To, n.cfg.ID) && slices.Contains(c.To, peer) {
			out = append(out, toStore(c.Range))
		}
	}
	return out
}

func (n *Node) wantSync(id string) {
	n.syncMu.Lock()
	n.syncWant[id] = true
	n.syncMu.Unlock()
	select {
	case n.syncKick <- struct{}{}:
	default:
	}
}

// syncLoop runs anti-entropy with every live peer each
// AntiEntropyInterval, and with the peers asked for (Restarted, SetAlive)
// at once.
func (n *Node) syncLoop() {
	defer n.wg.Done()
	var tickC <-chan time.Time
	if n.cfg.AntiEntropyInterval > 0 {
		t := time.NewTicker(n.cfg.AntiEntropyInterval)
		defer t.Stop()
		tickC = t.C
	}
	for {
		var peers []string
		select {
		case <-n.ctx.Done():
			return
		case <-tickC:
			if rs := n.ring.Load(); rs != nil {
				for _, id := range rs.ids {
					if id != n.cfg.ID && n.alive(id) {
						peers = append(peers, id)
					}
				}
			}
		case <-n.syncKick:
			n.syncMu.Lock()
			for id := range n.syncWant {
				peers = append(peers, id)
			}
			clear(n.syncWant)
			n.syncMu.Unlock()
		}
		for _, p := range peers {
			if err := n.syncWith(n.ctx, p); err != nil {
				n.cfg.Logger.Debug("quorum: anti-entropy failed", "peer", p, "err", err)
			}
		}
	}
}

// call sends one background request with the operation timeout.
func (n *Node) call(ctx context.Context, peer string, req []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	return n.net.Call(ctx, peer, req)
}

// syncWith runs one anti-entropy exchange with peer over every range they
// share.
func (n *Node) syncWith(ctx context.Context, peer string) error {
	rs := n.ring.Load()
	if rs == nil || peer == n.cfg.ID {
		return nil
	}
	ranges := n.sharedRanges(rs, peer)
	items := make([]rootItem, 0, min(len(ranges), maxRoots))
	for len(ranges) > 0 {
		k := min(len(ranges), maxRoots)
		items = items[:0]
		for _, r := range ranges[:k] {
			items = append(items, rootItem{r: r, root: n.st.Digest(r).Root()})
		}
		b, err := n.call(ctx, peer, encodeRoots(nil, items))
		if err != nil {
			return err
		}
		idx, err := decodeIndices(b, len(items))
		if err != nil {
			return err
		}
		for _, i := range idx {
			if _, err := n.syncRange(ctx, peer, items[i].r, 0, false); err != nil {
				return err
			}
		}
		ranges = ranges[k:]
	}
	n.st8.aeRounds.Add(1)
	return nil
}

// syncRange exchanges the differing keys of one range with peer (only
// takes, if pullOnly) and reports whether the peer said it was itself
// still receiving the range.
func (n *Node) syncRange(ctx context.Context, peer string, rg store.Range, depth int, pullOnly bool) (receiving bool, err error) {
	return n.syncRangeKeep(ctx, peer, rg, depth, pullOnly, nil)
}

// syncRangeKeep is syncRange restricted to the keys whose hash keep
// accepts (nil: every key).
func (n *Node) syncRangeKeep(ctx context.Context, peer string, rg store.Range, depth int, pullOnly bool, keep func(h uint64) bool) (receiving bool, err error) {
	const limit = 4096
	b, err := n.call(ctx, peer, encodeVersions(nil, rg, limit))
	if err != nil {
		return false, err
	}
	vr, err := decodeVersionsReply(b)
	if err != nil {
		return false, err
	}
	theirs, truncated := vr.kvs, vr.truncated
	if truncated && depth < 8 {
		if parts := splitRange(rg, 16); len(parts) > 1 {
			for _, p := range parts {
				rcv, err := n.syncRangeKeep(ctx, peer, p, depth+1, pullOnly, keep)
				if err != nil {
					return false, err
				}
				receiving = receiving || rcv
			}
			return receiving, nil
		}
	}
	if truncated && pullOnly {
		// A pull must see every key of the source.
		return false, fmt.Errorf("quorum: range %v on %s too dense to list", rg, peer)
	}
	ours := n.st.Versions(nil, rg)
	if keep != nil {
		skip := func(kv store.KeyVersion) bool { return !keep(store.KeyHash(kv.Key)) }
		ours, theirs = slices.DeleteFunc(ours, skip), slices.DeleteFunc(theirs, skip)
	}
	push, pull := compareVersions(ours, theirs)
	if pullOnly {
		push = nil
	}
	for len(push) > 0 {
		es := make([]store.Entry, 0, min(len(push), maxBatch))
		for _, k := range push[:min(len(push), maxBatch)] {
			if e, ok := n.st.Read(k); ok {
				es = append(es, e)
			}
		}
		msg, sent, err := encodeBatch(nil, mBatch, es)
		if err != nil {
			return false, err
		}
		if b, err = n.call(ctx, peer, msg); err == nil {
			_, err = decodeBatchAck(b)
		}
		if err != nil {
			return false, err
		}
		n.st8.aePushed.Add(uint64(sent))
		push = push[min(len(push), max(sent, 1)):]
	}
	for len(pull) > 0 {
		k := min(len(pull), maxBatch)
		b, err := n.call(ctx, peer, encodeFetch(nil, pull[:k]))
		if err != nil {
			return false, err
		}
		r, err := expect(b, mFetchReply)
		if err != nil {
			return false, err
		}
		es, err := decodeEntries(r, nil)
		if err != nil {
			return false, err
		}
		for _, e := range es {
			if _, err := n.applyRemote(e); err != nil {
				return false, err
			}
		}
		n.st8.aePulled.Add(uint64(len(es)))
		pull = pull[k:]
	}
	return vr.receiving, nil
}

// compareVersions returns the keys to push (newer or only here) and to
// pull (newer or only there). With a truncated list of theirs (a range
// too dense to list at the deepest split), keys missing from it are not
// known to be missing there; pushing them anyway is harmless
// (last-write-wins).
func compareVersions(ours, theirs []store.KeyVersion) (push, pull []string) {
	m := make(map[string]store.Version, len(theirs))
	for _, kv := range theirs {
		m[kv.Key] = kv.Version
	}
	for _, kv := range ours {
		v, ok := m[kv.Key]
		switch {
		case !ok || kv.Version.Newer(v):
			push = append(push, kv.Key)
		case v.Newer(kv.Version):
			pull = append(pull, kv.Key)
		}
		delete(m, kv.Key)
	}
	for _, kv := range theirs {
		if _, ok := m[kv.Key]; ok {
			pull = append(pull, kv.Key)
		}
	}
	return push, pull
}

// splitRange cuts r (a ring range: End 0 is 2^64, Start == End is the
// whole space) into k about equal parts; ranges narrower than k are not
// split.
func splitRange(r store.Range, k int) []store.Range {
	width := r.End - r.Start // mod 2^64; 0 means all of it
	step := width / uint64(k)
	if width == 0 {
		step = (1 << 63) / uint64(k) * 2
	}
	if step == 0 {
		return []store.Range{r}
	}
	out := make([]store.Range, 0, k)
	s := r.Start
	for i := range k {
		e := s + step
		if i == k-1 {
			e = r.End
		}
		out = append(out, store.Range{Start: s, End: e})
		s = e
	}
	return out
}
