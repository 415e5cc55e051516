package quorum

import (
	"context"
	"encoding/binary"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/gridkv/gridkv/store"
)

// Hinted handoff: a write that a replica missed (network error or
// timeout) is kept by its coordinator, one hint per (replica, key) holding
// the newest version, and delivered in batches when the replica is
// reachable again (SetAlive true, and every HintInterval). Hints never count
// toward a write quorum. They are bounded in count, bytes and age; a hint
// that does not fit or expires is dropped and counted, and anti-entropy
// repairs what it would have. Hints live in memory only: Close tries once
// to deliver them all (flushHints) before the node goes, so a graceful
// restart of a coordinator does not leave its replicas behind.

type hint struct {
	enc []byte // the encoded entry (store encoding)
	v   store.Version
	at  time.Time
}

type hintStore struct {
	mu       sync.Mutex
	peers    map[string]map[string]hint
	count    int
	bytes    int64
	maxCount int
	maxBytes int64
	ttl      time.Duration

	stored, delivered, dropped, expired uint64
}

func (h *hintStore) init(maxCount int, maxBytes int64, ttl time.Duration) {
	h.peers = make(map[string]map[string]hint)
	h.maxCount, h.maxBytes, h.ttl = maxCount, maxBytes, ttl
}

// add keeps a hint for peer unless it holds a newer one for key, or the
// limits are reached. enc is copied.
func (h *hintStore) add(peer, key string, v store.Version, enc []byte, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.peers[peer]
	if old, ok := m[key]; ok {
		if !v.Newer(old.v) {
			return true
		}
		h.count--
		h.bytes -= int64(len(old.enc))
		delete(m, key)
	}
	if h.count+1 > h.maxCount || h.bytes+int64(len(enc)) > h.maxBytes {
		h.dropped++
		return false
	}
	if m == nil {
		m = make(map[string]hint)
		h.peers[peer] = m
	}
	m[key] = hint{enc: append([]byte(nil), enc...), v: v, at: now}
	h.count++
	h.bytes += int64(len(enc))
	h.stored++
	return true
}

// batch drops peer's expired hints and appends to dst a batch message of
// up to maxBatch of the others; keys lists them. It returns dst unchanged
// (and no keys) when there is nothing to send.
func (h *hintStore) batch(peer string, now time.Time, dst []byte, keys []string) ([]byte, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.peers[peer]
	var body []byte
	size := 0
	for k, x := range m {
		if now.Sub(x.at) > h.ttl {
			h.remove(peer, m, k, x)
			h.expired++
			continue
		}
		if len(keys) == maxBatch || (size > 0 && size+len(x.enc) > maxBatchBytes) {
			break
		}
		body = append(body, x.enc...)
		size += len(x.enc)
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return dst, keys
	}
	dst = appendHeader(dst, mBatch)
	dst = binary.AppendUvarint(dst, uint64(len(keys)))
	return append(dst, body...), keys
}

// delivered removes the hints of keys sent to peer, unless a newer hint
// replaced one meanwhile (it stays, its version differs from sent).
func (h *hintStore) done(peer string, keys []string, sent map[string]store.Version) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.peers[peer]
	for _, k := range keys {
		if x, ok := m[k]; ok && x.v == sent[k] {
			h.remove(peer, m, k, x)
			h.delivered++
		}
	}
}

func (h *hintStore) remove(peer string, m map[string]hint, k string, x hint) {
	delete(m, k)
	h.count--
	h.bytes -= int64(len(x.enc))
	if len(m) == 0 {
		delete(h.peers, peer)
	}
}

func (h *hintStore) versions(peer string, keys []string) map[string]store.Version {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]store.Version, len(keys))
	for _, k := range keys {
		out[k] = h.peers[peer][k].v
	}
	return out
}

func (h *hintStore) peerList() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Collect(maps.Keys(h.peers))
}

func (n *Node) addHint(peer, key string, v store.Version, enc []byte) {
	if !n.hints.add(peer, key, v, enc, time.Now()) {
		n.cfg.Logger.Debug("quorum: hint dropped", "peer", peer, "key", key)
	}
}

func (n *Node) kickHints() {
	select {
	case n.hintKick <- struct{}{}:
	default:
	}
}

// hintLoop delivers hints every HintInterval and when kicked.
func (n *Node) hintLoop() {
	defer n.wg.Done()
	tick := time.NewTicker(n.cfg.HintInterval)
	defer tick.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-tick.C:
		case <-n.hintKick:
		}
		rs := n.ring.Load()
		for _, p := range n.hints.peerList() {
			// Members that left the ring get nothing (their hints expire):
			// a copy there would be a stray.
			if rs != nil && slices.Contains(rs.ids, p) && n.alive(p) {
				n.deliverHints(p)
			}
		}
	}
}

// flushHints is Close's last delivery: it sends every peer still on the
// ring its hints, all peers at once, whether or not they are reported
// alive (a peer can be back before the membership says so), within
// Timeout in all, so Close takes at most that much longer. Peers that
// left the ring get nothing, as in hintLoop. The hints left are logged
// (a Warn with their count): the replicas that missed those writes
// catch up only through anti-entropy with the other replicas, or not at
// all if none holds them.
func (n *Node) flushHints() {
	peers := n.hints.peerList()
	if len(peers) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Timeout)
	defer cancel()
	rs := n.ring.Load()
	var wg sync.WaitGroup
	for _, p := range peers {
		if rs != nil && slices.Contains(rs.ids, p) {
			wg.Go(func() { n.deliverHintsCtx(ctx, p) })
		}
	}
	wg.Wait()
	if left := n.hints.pending(); left > 0 {
		n.cfg.Logger.Warn("quorum: closing with undelivered hints", "hints", left)
	}
}

// pending returns the number of hints held.
func (h *hintStore) pending() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.count
}

// deliverHints sends peer its hints batch by batch until none are left or
// a batch fails.
func (n *Node) deliverHints(peer string) { n.deliverHintsCtx(n.ctx, peer) }

// deliverHintsCtx is deliverHints within ctx.
func (n *Node) deliverHintsCtx(ctx context.Context, peer string) {
	for ctx.Err() == nil {
		msg, keys := n.hints.batch(peer, time.Now(), nil, nil)
		if len(keys) == 0 {
			return
		}
		sent := n.hints.versions(peer, keys)
		cctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
		b, err := n.net.Call(cctx, peer, msg)
		cancel()
		if err == nil {
			_, err = decodeBatchAck(b)
		}
		if err != nil {
			n.cfg.Logger.Debug("quorum: hint delivery failed", "peer", peer, "err", err)
			return
		}
		n.hints.done(peer, keys, sent)
	}
}
