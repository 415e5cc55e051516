package gridkv_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gridkv/gridkv/gridkv"
	"github.com/gridkv/gridkv/gridkv/internal/testcluster"
)

// TestGracefulLeaveHandsOff: a member that leaves (Close) keeps serving
// until the members that take its ranges hold its data, so no write
// acknowledged by W=2 replicas is left on one node when it is gone.
//
// Node 1 refuses replication while node 0 coordinates the writes: a key
// whose replicas are nodes 0, 1 and 3 is acknowledged by nodes 0 and 3
// only (node 1's hint stays with node 0, delivered every 10 s). When node
// 3 leaves, node 2 becomes a replica and pulls after RebalanceDelay; until
// then, without a handoff, node 0 alone would hold such keys.
func TestGracefulLeaveHandsOff(t *testing.T) {
	nodes := testcluster.Start(t, 4, func(i int, o *gridkv.Options) {
		o.RebalanceDelay = 3 * time.Second
	})
	ctx := ctxT(t)
	const keys = 300
	key := func(i int) string { return fmt.Sprint("leave:", i) }
	gridkv.Refuse(nodes[1], true)
	for i := range keys {
		if err := nodes[0].Set(ctx, key(i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	gridkv.Refuse(nodes[1], false)
	if err := nodes[3].Close(); err != nil {
		t.Fatal(err)
	}
	rest := nodes[:3]
	single := 0
	for i := range keys {
		on := 0
		for _, g := range rest {
			if gridkv.Holds(g, key(i)) {
				on++
			}
		}
		if on < 2 {
			single++
		}
	}
	if single > 0 {
		t.Fatalf("after node 3 left, %d of %d acknowledged keys are on fewer than 2 of the remaining nodes", single, keys)
	}
}
