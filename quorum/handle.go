package quorum

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gridkv/gridkv/hlc"
	"github.com/gridkv/gridkv/store"
)

// Handle serves a peer's request (from is its member ID, for logs) and
// returns the reply to send back. A malformed request or an unknown
// message type returns an error wrapping ErrMalformed; a request the
// store refuses returns an error message (the coordinator reports it as
// a *RemoteError); a closed Node returns ErrClosed. The returned slice
// belongs to the caller; req is not kept.
func (n *Node) Handle(ctx context.Context, from string, req []byte) ([]byte, error) {
	if n.isClosed() {
		return nil, ErrClosed
	}
	t, r, err := header(req)
	if err != nil {
		return nil, err
	}
	switch t {
	case mWrite:
		e := r.entry()
		if err := r.end(); err != nil {
			return nil, err
		}
		// A write stamped too far in the future would drag this node's
		// clock (and every clock that hears from it) along: refuse it.
		if err := n.clock.Update(e.Version.Time); err != nil {
			return encodeError(nil, codeClock, err.Error()), nil
		}
		applied, err := n.st.Apply(e)
		if err != nil {
			return storeError(err), nil
		}
		ack := make([]byte, 0, 3+versionSize)
		if applied {
			return encodeWriteAck(ack, ackApplied, e.Version), nil
		}
		cur, _ := n.st.Read(e.Key)
		return encodeWriteAck(ack, ackSuperseded, cur.Version), nil

	case mRead:
		key, flags, err := decodeRead(r)
		if err != nil {
			return nil, err
		}
		e, found := n.st.Read(key)
		pending := n.moves.receiving(store.KeyHash(key))
		if pending && flags&readDirect == 0 {
			// A range this node is still receiving: complete the answer
			// from the range's sources (moveread.go), so that it counts.
			e, found, pending = n.moveRead(ctx, key, true)
		}
		versionOnly := flags&readVersionOnly != 0
		size := 3 + minEntrySize + 2*binary.MaxVarintLen64 + len(key)
		if !versionOnly {
			size += len(e.Value)
		}
		return encodeReadReply(make([]byte, 0, size), e, found, pending, versionOnly)

	case mBatch:
		es, err := decodeEntries(r, nil)
		if err != nil {
			return nil, err
		}
		// Hints, anti-entropy and handoff pushes. An entry of a key this
		// node does not replicate in its ring is ignored: the sender's ring
		// differs from this node's (if this node's is behind, it pulls the
		// range once it catches up), and a copy here could be a stray that
		// no handoff drops.
		rs := n.ring.Load()
		applied := 0
		for _, e := range es {
			if rs != nil && !n.replicates(rs, store.KeyHash(e.Key)) {
				continue
			}
			ok, err := n.applyRemote(e)
			if err != nil {
				return storeError(err), nil
			}
			if ok {
				applied++
			}
		}
		return encodeCount(nil, mBatchAck, applied), nil

	case mRoots:
		items, err := decodeRoots(r)
		if err != nil {
			return nil, err
		}
		var diff []int
		for i, it := range items {
			if n.st.Digest(it.r).Root() != it.root {
				diff = append(diff, i)
			}
		}
		return encodeIndices(nil, diff), nil

	case mVersions:
		rg, limit, err := decodeVersions(r)
		if err != nil {
			return nil, err
		}
		// Scan, not Versions: it stops after limit+1 entries, so a request
		// for a huge range costs no more than a full reply.
		es, _ := n.st.Scan(nil, rg, store.Cursor{}, limit+1)
		truncated := len(es) > limit
		if truncated {
			es = es[:limit]
		}
		kvs := make([]store.KeyVersion, len(es))
		for i, e := range es {
			kvs[i] = store.KeyVersion{Key: e.Key, Version: e.Version, Tombstone: e.Tombstone}
		}
		return encodeVersionsReply(nil, kvs, truncated, n.moves.overlaps(rg)), nil

	case mFetch:
		keys, err := decodeFetch(r)
		if err != nil {
			return nil, err
		}
		es := make([]store.Entry, 0, len(keys))
		for _, k := range keys {
			if e, ok := n.st.Read(k); ok {
				es = append(es, e)
			}
		}
		b, _, err := encodeBatch(nil, mFetchReply, es)
		return b, err

	case mScan:
		rg, c, limit, err := decodeScan(r)
		if err != nil {
			return nil, err
		}
		receiving := n.moves.overlaps(rg)
		es, next := n.st.Scan(nil, rg, c, max(1, limit))
		b, k, err := encodeScanReply(nil, next, es, receiving)
		if err == nil && k < len(es) {
			// The page was cut by size: resume after the last entry sent.
			last := es[k-1]
			next = store.Cursor{Started: true, Hash: store.KeyHash(last.Key), Key: last.Key}
			b, _, err = encodeScanReply(nil, next, es[:k], receiving)
		}
		return b, err

	case mListVersions:
		return n.serveListVersions(r)
	}
	return nil, fmt.Errorf("%w: %v is not a request", ErrMalformed, t)
}

// maxQuick is the largest request Quick accepts: copying a larger value
// into the store is no longer negligible next to a round trip.
const maxQuick = 16 << 10

// Quick reports whether Handle serves req quickly and without ever
// blocking (a replica write or read of at most 16 KiB: a clock update
// and one store operation), so that a transport may run it on the
// goroutine that reads its connection instead of starting one. While a
// Node of this process is receiving ranges after a ring change, reads are
// not quick: a read of a range being received may call the range's
// sources (moveread.go).
func Quick(req []byte) bool {
	if len(req) < 2 || len(req) > maxQuick || req[0] != wireVersion {
		return false
	}
	switch msgType(req[1]) {
	case mWrite:
		return true
	case mRead:
		return receivingNodes.Load() == 0 || len(req) > 2 && req[2]&readDirect != 0
	}
	return false
}

func storeError(err error) []byte {
	code := byte(codeInvalid)
	switch {
	case errors.Is(err, store.ErrClosed):
		code = codeClosed
	case errors.Is(err, hlc.ErrClockOffset):
		code = codeClock
	}
	return encodeError(nil, code, err.Error())
}

// applyRemote applies an entry that came from another node (a hint, a
// transfer, anti-entropy) unless its timestamp is further ahead of this
// node's clock than MaxOffset: such an entry is skipped (not an error; a
// later round brings it again once the clocks agree), so a runaway clock
// cannot spread through background repair either.
func (n *Node) applyRemote(e store.Entry) (bool, error) {
	if err := n.clock.Update(e.Version.Time); err != nil {
		n.cfg.Logger.Warn("quorum: entry from the future skipped", "key", e.Key, "err", err)
		return false, nil
	}
	return n.st.Apply(e)
}
