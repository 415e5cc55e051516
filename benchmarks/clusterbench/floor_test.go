package clusterbench

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gridkv/gridkv/quorum"
	"github.com/gridkv/gridkv/ring"
	"github.com/gridkv/gridkv/store"
)

// The floor system: 3 quorum.Nodes, configured as GridKV's (N=3 W=2 R=2,
// the same stores and ring), whose network costs nothing: a call runs the
// peer's Handle on the caller's goroutine and hands the reply straight
// back. It is what GridKV would reach with a free transport: a transport
// only adds CPU to the engine's, so olric's cpu-ns/op ÷ floor's is the
// most any transport could give on this machine (doc.go). It is a
// measurement, not a usable system.

// directNet is a quorum.AsyncNetwork over function calls.
type directNet struct{ nodes map[string]*quorum.Node }

func (d *directNet) Call(ctx context.Context, to string, req []byte) ([]byte, error) {
	n, ok := d.nodes[to]
	if !ok {
		return nil, fmt.Errorf("floor: no node %q", to)
	}
	return n.Handle(ctx, "", req)
}

func (d *directNet) Go(ctx context.Context, to string, req []byte, done func([]byte, error)) {
	done(d.Call(ctx, to, req))
}

type floorNode struct{ n *quorum.Node }

func (f floorNode) set(ctx context.Context, key string, value []byte) error {
	return f.n.Set(ctx, key, value)
}

func (f floorNode) get(ctx context.Context, key string) ([]byte, error) {
	return f.n.Get(ctx, key)
}

func startFloor(tb testing.TB) *cluster {
	tb.Helper()
	dn := &directNet{nodes: map[string]*quorum.Node{}}
	c := &cluster{name: "floor"}
	var closers []func() error
	c.close = func() error {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i]())
		}
		return errors.Join(errs...)
	}
	members := make([]ring.Member, numNodes)
	for i := range numNodes {
		id := fmt.Sprintf("node-%d", i)
		members[i] = ring.Member{ID: id}
		st, err := store.New(nil)
		if err != nil {
			tb.Fatal(err)
		}
		closers = append(closers, st.Close)
		n, err := quorum.New(quorum.Config{
			ID: id, NodeID: store.NodeID(i + 1), Store: st, Network: dn,
			N: 3, W: 2, R: 2,
		})
		if err != nil {
			c.close()
			tb.Fatal(err)
		}
		closers = append(closers, n.Close)
		dn.nodes[id] = n
		c.nodes = append(c.nodes, floorNode{n})
	}
	r, err := ring.New(members, ring.Config{})
	if err != nil {
		c.close()
		tb.Fatal(err)
	}
	for _, n := range dn.nodes {
		n.SetRing(r)
	}
	return c
}
