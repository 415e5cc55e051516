package server_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/gridkv/gridkv/gridkv"
	"github.com/gridkv/gridkv/gridkv/internal/glob"
)

// fakeKV is an in-memory server.KV for tests of command handling without
// a cluster. It honours TTLs and the default key and value limits.
type fakeKV struct {
	mu    sync.Mutex
	items map[string]gridkv.Item
	now   func() time.Time
}

func newFakeKV() *fakeKV {
	return &fakeKV{items: map[string]gridkv.Item{}, now: time.Now}
}

func (f *fakeKV) live(key string) (gridkv.Item, bool) {
	it, ok := f.items[key]
	if ok && !it.ExpiresAt.IsZero() && !f.now().Before(it.ExpiresAt) {
		delete(f.items, key)
		return it, false
	}
	return it, ok
}

func ttlOf(opts []gridkv.Option) time.Duration {
	d, _ := gridkv.OptionValues(opts...)
	return d
}

func (f *fakeKV) Set(_ context.Context, key string, value []byte, opts ...gridkv.Option) error {
	if len(key) > 4096 {
		return fmt.Errorf("%w: fake", gridkv.ErrKeyTooLarge)
	}
	if len(value) > 1<<20 {
		return fmt.Errorf("%w: fake", gridkv.ErrValueTooLarge)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	it := gridkv.Item{Key: key, Value: slices.Clone(value)}
	if d := ttlOf(opts); d > 0 {
		it.ExpiresAt = f.now().Add(d)
	}
	f.items[key] = it
	return nil
}

func (f *fakeKV) GetItem(_ context.Context, key string, _ ...gridkv.Option) (gridkv.Item, error) {
	if len(key) > 4096 {
		return gridkv.Item{}, fmt.Errorf("%w: fake", gridkv.ErrKeyTooLarge)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	it, ok := f.live(key)
	if !ok {
		return gridkv.Item{}, gridkv.ErrNotFound
	}
	it.Value = slices.Clone(it.Value)
	return it, nil
}

func (f *fakeKV) Delete(_ context.Context, key string, _ ...gridkv.Option) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.items, key)
	return nil
}

func (f *fakeKV) Exists(ctx context.Context, key string, _ ...gridkv.Option) (bool, error) {
	_, err := f.GetItem(ctx, key)
	if err == gridkv.ErrNotFound {
		return false, nil
	}
	return err == nil, err
}

func (f *fakeKV) MGet(ctx context.Context, keys []string, _ ...gridkv.Option) ([][]byte, error) {
	out := make([][]byte, len(keys))
	for i, k := range keys {
		it, err := f.GetItem(ctx, k)
		if err == gridkv.ErrNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[i] = it.Value
	}
	return out, nil
}

func (f *fakeKV) MSet(ctx context.Context, kvs []gridkv.KV, opts ...gridkv.Option) error {
	for _, kv := range kvs {
		if err := f.Set(ctx, kv.Key, kv.Value, opts...); err != nil {
			return err
		}
	}
	return nil
}

// Scan pages through the sorted keys; the cursor is an index + 1.
func (f *fakeKV) Scan(_ context.Context, cursor uint64, pattern string, count int) ([]string, uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var keys []string
	for k := range f.items {
		if _, ok := f.live(k); ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	start := int(min(cursor, uint64(len(keys))))
	end := min(start+count, len(keys))
	var out []string
	for _, k := range keys[start:end] {
		if glob.Match(pattern, k) {
			out = append(out, k)
		}
	}
	next := uint64(end)
	if end == len(keys) {
		next = 0
	}
	return out, next, nil
}

func (f *fakeKV) Count(ctx context.Context) (int64, error) {
	keys, _, err := f.Scan(ctx, 0, "*", 1<<30)
	return int64(len(keys)), err
}

func (f *fakeKV) Members() []gridkv.Member {
	return []gridkv.Member{{ID: "fake", State: "alive", Local: true}}
}

func (f *fakeKV) Stats() gridkv.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return gridkv.Stats{NodeID: "fake", Members: 1, AliveMembers: 1, RingMembers: 1, Keys: int64(len(f.items)), ReplicaCount: 3, WriteQuorum: 2, ReadQuorum: 2}
}

func (f *fakeKV) Ready() bool { return true }

func (f *fakeKV) WritePrometheus(w io.Writer) {
	fmt.Fprintf(w, "fake_keys %d\n", f.Stats().Keys)
}
