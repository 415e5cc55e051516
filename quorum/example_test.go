package quorum_test

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

// localNet connects Nodes of one process: Call runs the peer's Handle.
// A real deployment adapts its transport instead.
type localNet struct {
	mu    sync.Mutex
	nodes map[string]*quorum.Node
	down  map[string]bool
}

func (l *localNet) Call(ctx context.Context, to string, req []byte) ([]byte, error) {
	l.mu.Lock()
	nd, down := l.nodes[to], l.down[to]
	l.mu.Unlock()
	if nd == nil || down {
		return nil, fmt.Errorf("%s unreachable", to)
	}
	return nd.Handle(ctx, "", append([]byte(nil), req...))
}

// startCluster starts one Node per ID on a localNet and gives them a ring.
func startCluster(ids ...string) (*localNet, map[string]*quorum.Node, func()) {
	net := &localNet{nodes: map[string]*quorum.Node{}, down: map[string]bool{}}
	var members []ring.Member
	var stores []*store.Store
	for i, id := range ids {
		st, _ := store.New(nil)
		stores = append(stores, st)
		n, err := quorum.New(quorum.Config{ID: id, NodeID: store.NodeID(i + 1), Store: st, Network: net})
		if err != nil {
			panic(err)
		}
		net.nodes[id] = n
		members = append(members, ring.Member{ID: id})
	}
	r, _ := ring.New(members, ring.Config{})
	for _, n := range net.nodes {
		n.SetRing(r)
	}
	return net, net.nodes, func() {
		for _, n := range net.nodes {
			n.Close()
		}
		for _, st := range stores {
			st.Close()
		}
	}
}

func Example() {
	_, nodes, stop := startCluster("a", "b", "c")
	defer stop()
	ctx := context.Background()

	if err := nodes["a"].Set(ctx, "greeting", []byte("hello")); err != nil {
		panic(err)
	}
	v, err := nodes["c"].Get(ctx, "greeting")
	fmt.Printf("%s %v\n", v, err)

	_ = nodes["b"].Delete(ctx, "greeting")
	_, err = nodes["a"].Get(ctx, "greeting")
	fmt.Println(errors.Is(err, quorum.ErrNotFound))
	// Output:
	// hello <nil>
	// true
}

func ExampleNew() {
	st, _ := store.New(nil)
	defer st.Close()
	_, err := quorum.New(quorum.Config{ID: "a", Store: st, Network: &localNet{}, N: 3, W: 4})
	fmt.Println(err)
	// Output: quorum: bad config: N=3 W=4 R=2 (need 1 <= W, R <= N <= 16)
}

func ExampleNode_Set() {
	_, nodes, stop := startCluster("a", "b", "c")
	defer stop()
	ctx := context.Background()
	err := nodes["a"].Set(ctx, "session:42", []byte("token"), quorum.WithTTL(time.Hour))
	fmt.Println(err)
	// Output: <nil>
}

func ExampleNode_Get() {
	_, nodes, stop := startCluster("a", "b", "c")
	defer stop()
	ctx := context.Background()
	_, err := nodes["a"].Get(ctx, "nobody")
	fmt.Println(errors.Is(err, quorum.ErrNotFound))
	_ = nodes["a"].Set(ctx, "somebody", []byte("here"))
	v, _ := nodes["b"].Get(ctx, "somebody", quorum.WithConsistency(quorum.Linearizable))
	fmt.Println(string(v))
	// Output:
	// true
	// here
}

func ExampleNode_Delete() {
	_, nodes, stop := startCluster("a", "b", "c")
	defer stop()
	ctx := context.Background()
	_ = nodes["a"].Set(ctx, "k", []byte("v"))
	fmt.Println(nodes["a"].Delete(ctx, "k"))
	_, err := nodes["c"].Get(ctx, "k")
	fmt.Println(err)
	// Output:
	// <nil>
	// quorum: not found
}

func ExampleQuorumError() {
	net, nodes, stop := startCluster("a", "b", "c")
	defer stop()
	net.mu.Lock()
	net.down["b"], net.down["c"] = true, true
	net.mu.Unlock()
	err := nodes["a"].Set(context.Background(), "k", []byte("v"))
	var qe *quorum.QuorumError
	if errors.As(err, &qe) {
		fmt.Println(errors.Is(err, quorum.ErrQuorumNotMet), qe.Got, "of", qe.Of, "need", qe.Need)
	}
	// Output: true 1 of 3 need 2
}

func ExampleNode_SetAlive() {
	net, nodes, stop := startCluster("a", "b", "c")
	defer stop()
	ctx := context.Background()
	net.mu.Lock()
	net.down["c"] = true
	net.mu.Unlock()
	nodes["a"].SetAlive("c", false)
	_ = nodes["a"].Set(ctx, "k", []byte("v"))
	for nodes["a"].Stats().Hints == 0 { // the call to c fails in the background
		time.Sleep(time.Millisecond)
	}
	fmt.Println("hints held:", nodes["a"].Stats().Hints)

	net.mu.Lock()
	net.down["c"] = false
	net.mu.Unlock()
	nodes["a"].SetAlive("c", true) // delivers the hint
	for nodes["a"].Stats().Hints > 0 {
		time.Sleep(time.Millisecond)
	}
	fmt.Println("delivered:", nodes["a"].Stats().HintsDelivered)
	// Output:
	// hints held: 1
	// delivered: 1
}

func ExampleNode_SetRing() {
	_, nodes, stop := startCluster("a", "b")
	defer stop()
	// Membership changed: every node gets the new ring. Ranges that move
	// are pulled by their new replicas.
	r, _ := ring.New([]ring.Member{{ID: "a"}, {ID: "b"}}, ring.Config{})
	for _, n := range nodes {
		n.SetRing(r)
	}
	fmt.Println(nodes["a"].Stats().RangesReceiving)
	// Output: 0
}

func ExampleNode_Restarted() {
	_, nodes, stop := startCluster("a", "b", "c")
	defer stop()
	// c came back with an empty store (a new boot id): a refills it by
	// anti-entropy, for every range they share.
	nodes["a"].Restarted("c")
	// Output:
}

func ExampleNode_SetRTT() {
	_, nodes, stop := startCluster("a", "b", "c")
	defer stop()
	// Reads ask the local replica first, then the fastest.
	nodes["a"].SetRTT("b", 2*time.Millisecond)
	nodes["a"].SetRTT("c", 300*time.Microsecond)
	// Output:
}

func ExampleNode_Handle() {
	_, nodes, stop := startCluster("a")
	defer stop()
	_, err := nodes["a"].Handle(context.Background(), "x", []byte{1, 200})
	fmt.Println(errors.Is(err, quorum.ErrMalformed), err)
	// Output: true quorum: malformed message: unknown message type 200
}

func ExampleNode_Stats() {
	_, nodes, stop := startCluster("a", "b", "c")
	defer stop()
	ctx := context.Background()
	_ = nodes["a"].Set(ctx, "k", []byte("v"))
	_, _ = nodes["a"].Get(ctx, "k")
	s := nodes["a"].Stats()
	fmt.Println(s.Sets, s.Gets, s.QuorumFailures)
	// Output: 1 1 0
}
