package gridkv

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gridkv/gridkv/quorum"
	"github.com/gridkv/gridkv/ring"
	"github.com/gridkv/gridkv/store"
)

// chanEntry carries gridkv's entry read, which GetItem uses because the
// quorum engine's Get returns the value without its expiry:
//
//	request: key
//	reply:   found u8 | store entry encoding (if found)
const chanEntry byte = 'E'

func (g *GridKV) handleEntry(key []byte) ([]byte, error) {
	e, ok := g.store.Read(string(key))
	if !ok {
		return []byte{0}, nil
	}
	return e.AppendBinary([]byte{1})
}

func decodeEntryReply(b []byte) (store.Entry, bool, error) {
	if len(b) == 0 || b[0] > 1 {
		return store.Entry{}, false, errors.New("gridkv: malformed entry reply")
	}
	if b[0] == 0 {
		if len(b) != 1 {
			return store.Entry{}, false, errors.New("gridkv: malformed entry reply")
		}
		return store.Entry{}, false, nil
	}
	var e store.Entry
	if err := e.UnmarshalBinary(b[1:]); err != nil {
		return store.Entry{}, false, err
	}
	return e, true, nil
}

// GetItem returns the value of key with its expiry, or ErrNotFound. It
// reads the key's replicas like Get (the highest version among a read
// quorum wins; with Linearizable, Get's write-back runs first) but does no
// read repair.
func (g *GridKV) GetItem(ctx context.Context, key string, opts ...Option) (Item, error) {
	if err := g.enter(); err != nil {
		return Item{}, err
	}
	defer g.exit()
	start := time.Now()
	it, err := g.getItem(ctx, key, opts)
	g.metrics.done("get", start, err)
	return it, err
}

func (g *GridKV) getItem(ctx context.Context, key string, opts []Option) (Item, error) {
	if err := g.checkKey(key); err != nil {
		return Item{}, err
	}
	var qbuf [2]quorum.Option
	c, qo := g.options(opts, &qbuf)
	ctx, cancel, err := g.opContext(ctx)
	if err != nil {
		return Item{}, err
	}
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait() // after the cancel below: no call outlives GetItem
	ctx, cancelCalls := context.WithCancel(ctx)
	defer cancelCalls()
	if c.consistency == Linearizable {
		if _, err := g.q.Get(ctx, key, qo...); err != nil {
			return Item{}, err
		}
		c.consistency = Quorum
	}
	rv := g.ring.Load()
	if rv == nil {
		return Item{}, fmt.Errorf("gridkv: no ring yet")
	}
	var buf [16]int
	reps := rv.r.Replicas(ring.KeyHash(key), g.opts.ReplicaCount, buf[:0])
	need := len(reps)
	switch c.consistency {
	case One:
		need = 1
	case Quorum:
		need = min(g.opts.ReadQuorum, len(reps))
	}
	type res struct {
		e     store.Entry
		found bool
		err   error
	}
	results := make(chan res, len(reps))
	for _, i := range reps {
		id := rv.r.Member(i).ID
		if id == g.id {
			e, ok := g.store.Read(key)
			results <- res{e: e, found: ok}
			continue
		}
		wg.Go(func() {
			b, err := g.net.call(ctx, chanEntry, id, []byte(key))
			if err != nil {
				results <- res{err: fmt.Errorf("%s: %w", id, err)}
				return
			}
			e, ok, err := decodeEntryReply(b)
			results <- res{e: e, found: ok, err: err}
		})
	}
	var best store.Entry
	has := false
	got := 0
	var errs []error
	for range reps {
		r := <-results
		if r.err != nil {
			errs = append(errs, r.err)
			if len(reps)-len(errs) < need {
				return Item{}, &QuorumError{Op: "get", Need: need, Got: got, Of: len(reps), Errs: errs}
			}
			continue
		}
		got++
		if r.found && (!has || r.e.Version.Newer(best.Version)) {
			best, has = r.e, true
		}
		if got >= need {
			break
		}
	}
	now := time.Now().UnixMilli()
	if !has || best.Tombstone || (best.Expires != 0 && best.Expires <= now) {
		return Item{}, ErrNotFound
	}
	it := Item{Key: key, Value: append([]byte(nil), best.Value...)}
	if best.Expires != 0 {
		it.ExpiresAt = time.UnixMilli(best.Expires)
	}
	return it, nil
}
