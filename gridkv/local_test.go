package gridkv_test

import (
	"fmt"
	"hash/crc32"
	"slices"
	"testing"
	"time"

	"github.com/gridkv/gridkv/gridkv"
	"github.com/gridkv/gridkv/gridkv/internal/testcluster"
)

// census returns, for key, the entries of the nodes that hold it.
func census(nodes []*gridkv.GridKV, key string) (holders []string, entries []gridkv.LocalEntry) {
	for _, g := range nodes {
		e := g.LocalVersions([]string{key})[0]
		if e.Found {
			holders = append(holders, g.Stats().NodeID)
			entries = append(entries, e)
		}
	}
	return holders, entries
}

// waitCensus polls until every key is on exactly want nodes with one
// version (a write returns after W replicas; the rest follow).
func waitCensus(t *testing.T, nodes []*gridkv.GridKV, keys []string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, k := range keys {
		for {
			holders, es := census(nodes, k)
			same := len(es) > 0
			for _, e := range es {
				same = same && e.HLC == es[0].HLC && e.Node == es[0].Node && e.CRC32C == es[0].CRC32C && e.Len == es[0].Len
			}
			if len(holders) == want && same {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: on %v with %+v, want %d nodes with one version", k, holders, es, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestLocalVersionsThreeNodes(t *testing.T) {
	nodes := testcluster.Start(t, 3, nil)
	ctx := ctxT(t)
	var keys []string
	for i := range 30 {
		k := fmt.Sprint("lv-", i)
		keys = append(keys, k)
		if err := nodes[i%3].Set(ctx, k, []byte("value-"+k)); err != nil {
			t.Fatal(err)
		}
	}
	waitCensus(t, nodes, keys, 3)
	tab := crc32.MakeTable(crc32.Castagnoli)
	for _, g := range nodes {
		es := g.LocalVersions(append([]string{"never-written"}, keys...))
		if len(es) != len(keys)+1 || es[0] != (gridkv.LocalEntry{Key: "never-written", Replica: true}) {
			t.Fatalf("missing key: %+v", es[0])
		}
		for i, e := range es[1:] {
			v := "value-" + keys[i]
			if e.Key != keys[i] || !e.Found || e.Tombstone || e.HLC == 0 || e.Len != len(v) ||
				e.CRC32C != crc32.Checksum([]byte(v), tab) || !e.Replica {
				t.Fatalf("%s: %+v", keys[i], e)
			}
		}
	}
	// A delete leaves a tombstone with a newer version on every replica.
	before := nodes[0].LocalVersions(keys[:1])[0]
	if err := nodes[1].Delete(ctx, keys[0]); err != nil {
		t.Fatal(err)
	}
	waitCensus(t, nodes, keys[:1], 3)
	for _, g := range nodes {
		e := g.LocalVersions(keys[:1])[0]
		if !e.Found || !e.Tombstone || e.Len != 0 || e.HLC <= before.HLC {
			t.Fatalf("after delete: %+v (before %+v)", e, before)
		}
	}
}

func TestLocalVersionsFourNodesExactlyN(t *testing.T) {
	// N=3 by default. Few ring points: the census holds at any ring size,
	// and with the default 2048 per node the first node the cleanup
	// closes hands off thousands of ranges (15-30 s of this test under
	// -race).
	nodes := testcluster.Start(t, 4, func(_ int, o *gridkv.Options) { o.VirtualNodes = fewVirtualNodes })
	if n := nodes[0].Stats().ReplicaCount; n != 3 {
		t.Fatalf("ReplicaCount = %d, want 3", n)
	}
	ctx := ctxT(t)
	var keys []string
	for i := range 40 {
		k := fmt.Sprint("lv4-", i)
		keys = append(keys, k)
		if err := nodes[i%4].Set(ctx, k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	waitCensus(t, nodes, keys, 3)
	for _, k := range keys {
		holders, _ := census(nodes, k)
		reps := nodes[0].Replicas(k)
		slices.Sort(holders)
		slices.Sort(reps)
		if !slices.Equal(holders, reps) {
			t.Fatalf("%s held by %v, replicas %v", k, holders, reps)
		}
		for _, g := range nodes {
			e := g.LocalVersions([]string{k})[0]
			if e.Replica != slices.Contains(reps, g.Stats().NodeID) {
				t.Fatalf("%s on %s: Replica = %v, replicas %v", k, g.Stats().NodeID, e.Replica, reps)
			}
		}
	}
}
