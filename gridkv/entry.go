package gridkv

import (
	"context"
	"time"

	"github.com/gridkv/gridkv/quorum"
)

// GetItem returns the value of key with its expiry, or ErrNotFound. It is
// Get with the expiry: the quorum engine's read (the rules for replicas
// still receiving a range after a ring change, fail fast, hedging, read
// repair, and with Linearizable the write-back before returning).
func (g *GridKV) GetItem(ctx context.Context, key string, opts ...Option) (Item, error) {
	if err := g.enter(); err != nil {
		return Item{}, err
	}
	defer g.exit()
	start := time.Now()
	it, err := g.getItem(ctx, key, opts)
	g.metrics.done(opGet, start, err)
	return it, err
}

func (g *GridKV) getItem(ctx context.Context, key string, opts []Option) (Item, error) {
	if err := g.checkKey(key); err != nil {
		return Item{}, err
	}
	var qbuf [2]quorum.Option
	_, qo := g.options(opts, &qbuf)
	ctx, cancel, err := g.quorumContext(ctx)
	if err != nil {
		return Item{}, err
	}
	defer cancel()
	e, err := g.q.GetEntry(ctx, key, qo...)
	if err != nil {
		return Item{}, err
	}
	it := Item{Key: key, Value: e.Value}
	if e.Expires != 0 {
		it.ExpiresAt = time.UnixMilli(e.Expires)
	}
	return it, nil
}
