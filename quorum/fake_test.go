package quorum

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gridkv/gridkv/ring"
	"github.com/gridkv/gridkv/store"
)

// fakeNet is a trivial in-memory Network: Call runs the peer's Handle in
// the caller's goroutine on copies of the bytes. Members can be marked
// down (calls fail at once) or frozen (calls block until ctx is done).
type fakeNet struct {
	mu     sync.Mutex
	nodes  map[string]*Node
	down   map[string]bool
	frozen map[string]bool
	calls  map[string]int
}

func newFakeNet() *fakeNet {
	return &fakeNet{nodes: map[string]*Node{}, down: map[string]bool{}, frozen: map[string]bool{}, calls: map[string]int{}}
}

var errDown = errors.New("fakenet: peer down")

func (f *fakeNet) Call(ctx context.Context, to string, req []byte) ([]byte, error) {
	f.mu.Lock()
	nd, down, frozen := f.nodes[to], f.down[to], f.frozen[to]
	f.calls[to]++
	f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if nd == nil || down {
		return nil, fmt.Errorf("%s: %w", to, errDown)
	}
	if frozen {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	b, err := nd.Handle(ctx, "", append([]byte(nil), req...))
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), b...), nil
}

func (f *fakeNet) set(m map[string]bool, id string, v bool) {
	f.mu.Lock()
	m[id] = v
	f.mu.Unlock()
}

func (f *fakeNet) callCount(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[id]
}

// cluster is a set of nodes on one fakeNet.
type cluster struct {
	t      testing.TB
	net    *fakeNet
	ids    []string
	nodes  map[string]*Node
	stores map[string]*store.Store
}

func memberIDs(k int) []string {
	ids := make([]string, k)
	for i := range ids {
		ids[i] = fmt.Sprintf("n%d", i+1)
	}
	return ids
}

func newRing(t testing.TB, ids []string) *ring.Ring {
	t.Helper()
	ms := make([]ring.Member, len(ids))
	for i, id := range ids {
		ms[i] = ring.Member{ID: id}
	}
	r, err := ring.New(ms, ring.Config{Points: 64})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// newCluster starts k nodes with cfg as a template and gives them a ring
// of all of them.
func newCluster(t testing.TB, k int, cfg Config) *cluster {
	t.Helper()
	c := &cluster{t: t, net: newFakeNet(), ids: memberIDs(k), nodes: map[string]*Node{}, stores: map[string]*store.Store{}}
	for i, id := range c.ids {
		c.add(id, uint32(i+1), cfg)
	}
	c.setRing(c.ids)
	t.Cleanup(c.close)
	return c
}

func (c *cluster) add(id string, nodeID uint32, cfg Config) *Node {
	c.t.Helper()
	st, err := store.New(&store.Config{SweepInterval: -1})
	if err != nil {
		c.t.Fatal(err)
	}
	cfg.ID, cfg.NodeID, cfg.Store, cfg.Network = id, store.NodeID(nodeID), st, c.net
	nd, err := New(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	c.nodes[id], c.stores[id] = nd, st
	c.net.mu.Lock()
	c.net.nodes[id] = nd
	c.net.mu.Unlock()
	return nd
}

func (c *cluster) setRing(ids []string) {
	r := newRing(c.t, ids)
	for _, nd := range c.nodes {
		nd.SetRing(r)
	}
}

func (c *cluster) close() {
	for _, nd := range c.nodes {
		nd.Close()
	}
	for _, st := range c.stores {
		st.Close()
	}
}

// replicasOf returns the IDs of key's replicas in the current ring.
func (c *cluster) replicasOf(key string) []string {
	rs := c.nodes[c.ids[0]].ring.Load()
	var out []string
	for _, m := range rs.r.Replicas(store.KeyHash(key), c.nodes[c.ids[0]].cfg.N, nil) {
		out = append(out, rs.ids[m])
	}
	return out
}

// holders returns the IDs of the nodes whose store holds key's value.
func (c *cluster) holders(key string, value string) []string {
	var out []string
	for _, id := range c.ids {
		if st, ok := c.stores[id]; ok {
			if v, ok := st.View(key); ok && string(v) == value {
				out = append(out, id)
			}
		}
	}
	return out
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}
