package gridkv_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gridkv/gridkv/gridkv"
	"github.com/gridkv/gridkv/gridkv/internal/testcluster"
)

// TestCloseDeliversHints: node 1 refuses replication while node 2
// coordinates writes, so node 2 holds them as hints for node 1. Node 1
// serves again, but its membership never changed, so nothing kicks the
// delivery before the periodic retry (10 s); node 2 closes: Close hands
// the hints over before it returns, and node 1 holds every write.
func TestCloseDeliversHints(t *testing.T) {
	nodes := testcluster.Start(t, 3, nil)
	ctx := ctxT(t)
	const keys = 50
	gridkv.Refuse(nodes[1], true)
	for i := range keys {
		if err := nodes[2].Set(ctx, fmt.Sprint("hinted:", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	// The third replica's failure, and its hint, may come after Set
	// returned (W=2).
	deadline := time.Now().Add(10 * time.Second)
	for nodes[2].Stats().HintsPending != keys {
		if time.Now().After(deadline) {
			t.Fatalf("node 2 holds %d hints, want %d", nodes[2].Stats().HintsPending, keys)
		}
		time.Sleep(5 * time.Millisecond)
	}
	gridkv.Refuse(nodes[1], false)
	if got := nodes[1].Stats().Keys; got != 0 {
		t.Fatalf("node 1 holds %d keys before node 2 closed (a periodic retry came first?)", got)
	}
	if err := nodes[2].Close(); err != nil {
		t.Fatal(err)
	}
	if got := nodes[1].Stats().Keys; got != keys {
		t.Fatalf("node 1 holds %d keys after node 2 closed, want the %d hinted writes", got, keys)
	}
}
