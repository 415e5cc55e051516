package gridkv

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gridkv/gridkv/gridkv/internal/glob"
	"github.com/gridkv/gridkv/store"
)

// Cluster-wide scan. Keys are walked in the order of their hash (the same
// hash that places them on the ring), so a cursor is a position in hash
// space that means the same on every member. A page asks every alive
// member for its first live keys matching the pattern at or after the
// cursor, merges the answers, drops duplicates (each key lives on N
// members) and returns them in hash order with the next cursor. Every key
// that exists for the whole scan, on a member that answers, is returned
// once; keys written or deleted meanwhile may or may not be. Keys whose
// 64-bit hashes collide may be skipped at a page boundary (probability
// about 2^-64 per pair).
//
// Wire format (on chanScan):
//
//	request: start u64 | limit u32 | len(pattern) u16 | pattern
//	reply:   next u64 | done u8 | count u32 | count × (hash u64 | len(key) u16 | key)
//
// The reply's next is the hash below which the member has reported every
// matching key; done means it reached the end of the hash space.

const (
	maxScanLimit    = 100_000
	maxPatternLen   = 4096
	scanVisitFactor = 16 // a member examines at most limit×factor+1024 entries per request
)

var errMalformedScan = errors.New("gridkv: malformed scan message")

type scanKey struct {
	hash uint64
	key  string
}

type scanReply struct {
	next uint64
	done bool
	keys []scanKey
}

func encodeScanRequest(start uint64, limit int, pattern string) []byte {
	b := make([]byte, 0, 14+len(pattern))
	b = binary.BigEndian.AppendUint64(b, start)
	b = binary.BigEndian.AppendUint32(b, uint32(limit))
	b = binary.BigEndian.AppendUint16(b, uint16(len(pattern)))
	return append(b, pattern...)
}

func decodeScanRequest(b []byte) (start uint64, limit int, pattern string, err error) {
	if len(b) < 14 {
		return 0, 0, "", errMalformedScan
	}
	start = binary.BigEndian.Uint64(b)
	limit = int(binary.BigEndian.Uint32(b[8:]))
	n := int(binary.BigEndian.Uint16(b[12:]))
	if len(b) != 14+n || limit < 1 || limit > maxScanLimit || n > maxPatternLen {
		return 0, 0, "", errMalformedScan
	}
	return start, limit, string(b[14:]), nil
}

func encodeScanReply(r scanReply) []byte {
	n := 13
	for _, k := range r.keys {
		n += 10 + len(k.key)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint64(b, r.next)
	done := byte(0)
	if r.done {
		done = 1
	}
	b = append(b, done)
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.keys)))
	for _, k := range r.keys {
		b = binary.BigEndian.AppendUint64(b, k.hash)
		b = binary.BigEndian.AppendUint16(b, uint16(len(k.key)))
		b = append(b, k.key...)
	}
	return b
}

func decodeScanReply(b []byte) (scanReply, error) {
	var r scanReply
	if len(b) < 13 {
		return r, errMalformedScan
	}
	r.next = binary.BigEndian.Uint64(b)
	r.done = b[8] == 1
	n := int(binary.BigEndian.Uint32(b[9:]))
	b = b[13:]
	if n > maxScanLimit || n > len(b)/10 {
		return r, errMalformedScan
	}
	r.keys = make([]scanKey, 0, n)
	for range n {
		if len(b) < 10 {
			return r, errMalformedScan
		}
		h := binary.BigEndian.Uint64(b)
		kl := int(binary.BigEndian.Uint16(b[8:]))
		if len(b) < 10+kl {
			return r, errMalformedScan
		}
		r.keys = append(r.keys, scanKey{hash: h, key: string(b[10 : 10+kl])})
		b = b[10+kl:]
	}
	if len(b) != 0 {
		return r, errMalformedScan
	}
	return r, nil
}

// localScan answers a scan request from the local store.
func localScan(st *store.Store, start uint64, limit int, pattern string) scanReply {
	var out scanReply
	rng := store.Range{Start: start, End: 0}
	var cur store.Cursor
	var page []store.Entry
	budget := limit*scanVisitFactor + 1024
	all := pattern == "*"
	for {
		page, cur = st.Scan(page[:0], rng, cur, 256)
		for _, e := range page {
			budget--
			if e.Tombstone || !(all || glob.Match(pattern, e.Key)) {
				continue
			}
			out.keys = append(out.keys, scanKey{hash: store.KeyHash(e.Key), key: e.Key})
		}
		if cur.Done {
			out.done = true
			return out
		}
		if len(out.keys) >= limit || budget <= 0 {
			// Everything up to and including cur.Hash was examined; finish
			// that hash so the horizon can move past it.
			if cur.Hash == math.MaxUint64 {
				out.done = true
				return out
			}
			out.next = cur.Hash + 1
			return out
		}
	}
}

// handleScan serves a scan request from a peer.
func (g *GridKV) handleScan(payload []byte) ([]byte, error) {
	start, limit, pattern, err := decodeScanRequest(payload)
	if err != nil {
		return nil, err
	}
	return encodeScanReply(localScan(g.store, start, limit, pattern)), nil
}

// Scan returns up to count keys matching pattern (a Redis glob: * ? [abc] [^a] [a-z]
// and \ escapes; "" means "*"), starting at cursor (0: from the start),
// and the cursor of the next page, 0 when the scan is complete. A page may
// hold fewer keys than count, even none, before the end. It asks every
// alive member, and fails only if as many members as ReplicaCount do not
// answer (then some keys might have no replica that answered).
func (g *GridKV) Scan(ctx context.Context, cursor uint64, pattern string, count int) ([]string, uint64, error) {
	if err := g.enter(); err != nil {
		return nil, 0, err
	}
	defer g.exit()
	start := time.Now()
	keys, next, err := g.scan(ctx, cursor, pattern, count)
	g.metrics.done(opScan, start, err)
	return keys, next, err
}

func (g *GridKV) scan(ctx context.Context, cursor uint64, pattern string, count int) ([]string, uint64, error) {
	if pattern == "" {
		pattern = "*"
	}
	if len(pattern) > maxPatternLen {
		return nil, 0, fmt.Errorf("gridkv: pattern longer than %d bytes", maxPatternLen)
	}
	count = min(max(count, 1), maxScanLimit)
	ctx, cancel, err := g.opContext(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer cancel()

	ids := g.aliveIDs()
	replies := make([]scanReply, len(ids))
	errs := make([]error, len(ids))
	req := encodeScanRequest(cursor, count, pattern)
	var wg sync.WaitGroup
	for i, id := range ids {
		if id == g.id {
			replies[i] = localScan(g.store, cursor, count, pattern)
			continue
		}
		wg.Go(func() {
			b, err := g.net.call(ctx, chanScan, id, req)
			if err == nil {
				replies[i], err = decodeScanReply(b)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	return mergeScan(replies, errs, count, g.opts.ReplicaCount)
}

// mergeScan merges the members' replies into one page. Members that failed
// are skipped while fewer than n failed.
func mergeScan(replies []scanReply, errs []error, count, n int) ([]string, uint64, error) {
	var failed []error
	horizon, done := uint64(0), true
	var all []scanKey
	for i, r := range replies {
		if errs[i] != nil {
			failed = append(failed, errs[i])
			continue
		}
		if !r.done && (done || r.next < horizon) {
			horizon, done = r.next, false
		}
		all = append(all, r.keys...)
	}
	if len(failed) > 0 && (len(failed) >= n || len(failed) == len(replies)) {
		return nil, 0, fmt.Errorf("%w: scan: %d of %d members did not answer: %w",
			ErrQuorumNotMet, len(failed), len(replies), errors.Join(failed...))
	}
	slices.SortFunc(all, func(a, b scanKey) int {
		if a.hash != b.hash {
			if a.hash < b.hash {
				return -1
			}
			return 1
		}
		return strings.Compare(a.key, b.key)
	})
	all = slices.Compact(all)
	// Keys at or past the horizon may be incomplete: some member stopped
	// before reaching them.
	if !done {
		i, _ := slices.BinarySearchFunc(all, horizon, func(k scanKey, h uint64) int {
			if k.hash < h {
				return -1
			}
			return 1
		})
		all = all[:i]
	}
	next := horizon // 0 when done
	if len(all) > count {
		last := all[count-1].hash
		// Keep every key of the last hash, so the page ends between hashes.
		i := count
		for i < len(all) && all[i].hash == last {
			i++
		}
		all = all[:i]
		if last == math.MaxUint64 {
			next = 0
		} else {
			next = last + 1
		}
	}
	keys := make([]string, len(all))
	for i, k := range all {
		keys[i] = k.key
	}
	return keys, next, nil
}

// Count returns the number of live keys in the cluster. It walks a full
// Scan: its cost grows with the number of keys.
func (g *GridKV) Count(ctx context.Context) (int64, error) {
	var n int64
	var cursor uint64
	for {
		keys, next, err := g.Scan(ctx, cursor, "*", 10_000)
		if err != nil {
			return 0, err
		}
		n += int64(len(keys))
		if next == 0 {
			return n, nil
		}
		cursor = next
	}
}
