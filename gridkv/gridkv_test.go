package gridkv_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridkv/gridkv/gridkv"
	"github.com/gridkv/gridkv/gridkv/internal/testcluster"
	"go.uber.org/goleak"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSingleNode(t *testing.T) {
	g := testcluster.Start(t, 1, nil)[0]
	ctx := ctxT(t)
	if err := g.Set(ctx, "a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	v, err := g.Get(ctx, "a")
	if err != nil || string(v) != "1" {
		t.Fatalf("Get = %q, %v; want 1", v, err)
	}
	if _, err := g.Get(ctx, "missing"); !errors.Is(err, gridkv.ErrNotFound) {
		t.Fatalf("Get missing: %v, want ErrNotFound", err)
	}
	if err := g.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if ok, err := g.Exists(ctx, "a"); err != nil || ok {
		t.Fatalf("Exists after Delete = %v, %v", ok, err)
	}
}

func TestNewInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    gridkv.Options
		want string
	}{
		{"W>N", gridkv.Options{ReplicaCount: 2, WriteQuorum: 3}, "WriteQuorum"},
		{"R>N", gridkv.Options{ReplicaCount: 2, ReadQuorum: 3}, "ReadQuorum"},
		{"bad address", gridkv.Options{LocalAddress: "nope"}, "LocalAddress"},
		{"bad port", gridkv.Options{LocalAddress: "127.0.0.1:99999"}, "LocalAddress"},
		{"bad seed", gridkv.Options{LocalAddress: "127.0.0.1:0", SeedAddrs: []string{"x"}}, "seed"},
		{"bad key", gridkv.Options{LocalAddress: "127.0.0.1:0", EncryptionKey: []byte("short")}, "EncryptionKey"},
		{"negative N", gridkv.Options{ReplicaCount: -1}, "ReplicaCount"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := gridkv.New(tc.o)
			if err == nil {
				g.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestClusterReplicatesAndScans(t *testing.T) {
	nodes := testcluster.Start(t, 3, nil)
	ctx := ctxT(t)
	const keys = 200
	for i := range keys {
		k := fmt.Sprintf("key-%03d", i)
		if err := nodes[i%3].Set(ctx, k, []byte("value-of-"+k)); err != nil {
			t.Fatalf("Set %s: %v", k, err)
		}
	}
	for i := range keys {
		k := fmt.Sprintf("key-%03d", i)
		for j, g := range nodes {
			v, err := g.Get(ctx, k)
			if err != nil || string(v) != "value-of-"+k {
				t.Fatalf("node %d Get %s = %q, %v", j, k, v, err)
			}
		}
	}
	// A full scan from any node returns each key exactly once.
	var got []string
	var cursor uint64
	for {
		page, next, err := nodes[1].Scan(ctx, cursor, "key-*", 17)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if next == 0 {
			break
		}
		cursor = next
	}
	slices.Sort(got)
	if len(got) != keys || len(slices.Compact(slices.Clone(got))) != keys {
		t.Fatalf("scan returned %d keys (%d distinct), want %d", len(got), len(slices.Compact(slices.Clone(got))), keys)
	}
	// Character classes are Redis globs: key-00[0-4] and key-1[^0-8]9.
	for _, tc := range []struct {
		pattern string
		want    []string
	}{
		{"key-00[0-4]", []string{"key-000", "key-001", "key-002", "key-003", "key-004"}},
		{"key-1[^0-8]9", []string{"key-199"}},
		{"key-0\\*", nil},
	} {
		page, next, err := nodes[2].Scan(ctx, 0, tc.pattern, 1000)
		if err != nil || next != 0 {
			t.Fatalf("Scan %q: next %d, err %v", tc.pattern, next, err)
		}
		slices.Sort(page)
		if !slices.Equal(page, tc.want) {
			t.Fatalf("Scan %q = %v, want %v", tc.pattern, page, tc.want)
		}
	}
	n, err := nodes[2].Count(ctx)
	if err != nil || n != keys {
		t.Fatalf("Count = %d, %v; want %d", n, err, keys)
	}
}

// TestCloseStopsGoroutines checks that Close leaves gracefully and stops
// every goroutine a cluster started, while the others keep serving.
func TestCloseStopsGoroutines(t *testing.T) {
	base := goleak.IgnoreCurrent()
	nodes := testcluster.Start(t, 3, nil)
	ctx := ctxT(t)
	for i := range 20 {
		if err := nodes[i%3].Set(ctx, fmt.Sprint("leak-", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if err := nodes[2].Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := nodes[2].Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := nodes[2].Set(ctx, "x", nil); !errors.Is(err, gridkv.ErrClosed) {
		t.Fatalf("Set after Close: %v, want ErrClosed", err)
	}
	// The survivors see a leave, not a failure, and keep working.
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := false
		for _, m := range nodes[0].Members() {
			if m.ID == nodes[2].ID() && m.State == "left" {
				left = true
			}
		}
		if left {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node 0 does not see node 2 as left: %+v", nodes[0].Members())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v, err := nodes[1].Get(ctx, "leak-2"); err != nil || string(v) != "v" {
		t.Fatalf("Get after a node left = %q, %v", v, err)
	}
	nodes[0].Close()
	nodes[1].Close()
	testcluster.VerifyNoLeaks(t, base)
}

func TestItemsTTLAndNamespaces(t *testing.T) {
	nodes := testcluster.Start(t, 3, nil)
	ctx := ctxT(t)
	if err := nodes[0].Set(ctx, "ttl", []byte("v"), gridkv.WithTTL(time.Minute)); err != nil {
		t.Fatal(err)
	}
	it, err := nodes[1].GetItem(ctx, "ttl")
	if err != nil || string(it.Value) != "v" || it.TTL() <= 58*time.Second || it.TTL() > time.Minute {
		t.Fatalf("GetItem = %+v (TTL %v), %v", it, it.TTL(), err)
	}
	if err := nodes[0].Set(ctx, "short", []byte("v"), gridkv.WithTTL(50*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	for i, g := range nodes {
		if _, err := g.Get(ctx, "short"); !errors.Is(err, gridkv.ErrNotFound) {
			t.Fatalf("node %d: expired key: %v", i, err)
		}
		if _, err := g.GetItem(ctx, "short"); !errors.Is(err, gridkv.ErrNotFound) {
			t.Fatalf("node %d: GetItem of expired key: %v", i, err)
		}
	}

	alice, bob := nodes[0].Namespace("alice"), nodes[1].Namespace("bob")
	if err := alice.Set(ctx, "color", []byte("red")); err != nil {
		t.Fatal(err)
	}
	if err := bob.MSet(ctx, []gridkv.KV{{Key: "color", Value: []byte("blue")}, {Key: "pet", Value: []byte("cat")}}); err != nil {
		t.Fatal(err)
	}
	if v, err := nodes[2].Get(ctx, gridkv.NamespaceKey("alice", "color")); err != nil || string(v) != "red" {
		t.Fatalf("alice's key under its full name = %q, %v", v, err)
	}
	vs, err := nodes[2].Namespace("bob").MGet(ctx, []string{"color", "pet", "none"})
	if err != nil || string(vs[0]) != "blue" || string(vs[1]) != "cat" || vs[2] != nil {
		t.Fatalf("bob MGet = %q, %v", vs, err)
	}
	keys, next, err := bob.Scan(ctx, 0, "*", 100)
	slices.Sort(keys)
	if err != nil || next != 0 || !slices.Equal(keys, []string{"color", "pet"}) {
		t.Fatalf("bob Scan = %q, %d, %v", keys, next, err)
	}
	if it, err := bob.GetItem(ctx, "pet"); err != nil || it.Key != "pet" {
		t.Fatalf("bob GetItem = %+v, %v", it, err)
	}
	if err := alice.Delete(ctx, "color"); err != nil {
		t.Fatal(err)
	}
	if ok, err := alice.Exists(ctx, "color"); err != nil || ok {
		t.Fatalf("alice Exists after Delete = %v, %v", ok, err)
	}
	if ok, _ := bob.Exists(ctx, "color"); !ok {
		t.Fatal("deleting alice's key deleted bob's")
	}
}

func TestConsistencyLevelsAndLocalReads(t *testing.T) {
	nodes := testcluster.Start(t, 3, nil)
	ctx := ctxT(t)
	for _, c := range []gridkv.Consistency{gridkv.One, gridkv.Quorum, gridkv.All, gridkv.Linearizable} {
		k := "c-" + c.String()
		if err := nodes[0].Set(ctx, k, []byte(k), gridkv.WithConsistency(c)); err != nil {
			t.Fatalf("Set %v: %v", c, err)
		}
		v, err := nodes[1].Get(ctx, k, gridkv.WithConsistency(c))
		if c == gridkv.One && errors.Is(err, gridkv.ErrNotFound) {
			// A W=1 write may not have reached node 1 yet; read it where it is.
			v, err = nodes[0].Get(ctx, k, gridkv.WithConsistency(c))
		}
		if err != nil || string(v) != k {
			t.Fatalf("Get %v = %q, %v", c, v, err)
		}
		if it, err := nodes[2].GetItem(ctx, k, gridkv.WithConsistency(gridkv.All)); err != nil || string(it.Value) != k {
			t.Fatalf("GetItem All after Set %v = %+v, %v", c, it, err)
		}
	}
	// With N=3 every node is a replica: a One read is local.
	var buf strings.Builder
	nodes[2].WritePrometheus(&buf)
	before := metricValue(t, buf.String(), "gridkv_local_reads_total")
	for range 5 {
		if _, err := nodes[2].Get(ctx, "c-all", gridkv.WithConsistency(gridkv.One)); err != nil {
			t.Fatal(err)
		}
	}
	buf.Reset()
	nodes[2].WritePrometheus(&buf)
	if after := metricValue(t, buf.String(), "gridkv_local_reads_total"); after != before+5 {
		t.Fatalf("local reads went from %v to %v, want +5", before, after)
	}
	for _, s := range []string{"one", "quorum", "all", "linearizable"} {
		if c, err := gridkv.ParseConsistency(s); err != nil || c.String() != s {
			t.Fatalf("ParseConsistency(%q) = %v, %v", s, c, err)
		}
	}
	if _, err := gridkv.ParseConsistency("most"); err == nil {
		t.Fatal("ParseConsistency accepted nonsense")
	}
}

func metricValue(t *testing.T, text, name string) float64 {
	t.Helper()
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("metric %s not in\n%s", name, text)
	return 0
}

func TestZonesMembersStats(t *testing.T) {
	zones := []string{"eu", "us", "eu", "us"}
	nodes := testcluster.Start(t, 4, func(i int, o *gridkv.Options) {
		o.DataCenter = zones[i]
		o.ReplicaCount, o.WriteQuorum, o.ReadQuorum = 2, 2, 1
		// Zone spread holds at any ring size; the default 2048 points per
		// node make every join and leave of four nodes move thousands of
		// ranges (about 10 s of this test under -race, most of it in the
		// handoff of the first node the cleanup closes).
		o.VirtualNodes = fewVirtualNodes
	})
	ctx := ctxT(t)
	for i := range 50 {
		k := fmt.Sprint("zone-", i)
		reps := nodes[0].Replicas(k)
		if len(reps) != 2 {
			t.Fatalf("Replicas(%s) = %v", k, reps)
		}
		z := map[string]bool{}
		for _, id := range reps {
			var idx int
			fmt.Sscanf(id, "node-%d", &idx)
			z[zones[idx]] = true
		}
		if len(z) != 2 {
			t.Fatalf("replicas of %s %v are not in both zones", k, reps)
		}
		if err := nodes[i%4].Set(ctx, k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	ms := nodes[3].Members()
	if len(ms) != 4 {
		t.Fatalf("Members = %+v", ms)
	}
	for i, m := range ms {
		if m.ID != fmt.Sprint("node-", i) || m.Zone != zones[i] || (m.State != "alive" && m.State != "suspect") || m.TransportAddr == "" || m.Local != (i == 3) {
			t.Fatalf("member %d = %+v", i, m)
		}
	}
	// Ownership: the owners cover the hash space once, the replicas
	// twice (N=2), every member some of it.
	own := nodes[1].Ownership()
	var primary, replica float64
	for i := range nodes {
		o, ok := own[fmt.Sprint("node-", i)]
		if !ok || o.Primary <= 0 || o.Replica < o.Primary || o.Replica > 1 {
			t.Fatalf("Ownership of node-%d = %+v, %v", i, o, ok)
		}
		primary += o.Primary
		replica += o.Replica
	}
	if len(own) != 4 || math.Abs(primary-1) > 1e-9 || math.Abs(replica-2) > 1e-9 {
		t.Fatalf("Ownership %+v: owners cover %v, replicas %v of the hash space; want 1 and 2", own, primary, replica)
	}
	st := nodes[1].Stats()
	if st.NodeID != "node-1" || st.AliveMembers != 4 || st.RingMembers != 4 || st.ReplicaCount != 2 || st.Keys == 0 {
		t.Fatalf("Stats = %+v", st)
	}
	n, err := nodes[2].Count(ctx)
	if err != nil || n != 50 {
		t.Fatalf("Count = %d, %v", n, err)
	}
}

// fewVirtualNodes is the ring size of the four-node tests that check
// placement, not rebalancing (TestGracefulLeaveHandsOff keeps the default).
const fewVirtualNodes = 128

func TestWaitReadyTimesOut(t *testing.T) {
	g := testcluster.Start(t, 1, nil)[0]
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := g.WaitReady(ctx, 2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitReady for 2 members alone: %v", err)
	}
	if !g.Ready() {
		t.Fatal("a single node is not Ready")
	}
}

func TestKeyAndValueLimits(t *testing.T) {
	g := testcluster.Start(t, 1, func(_ int, o *gridkv.Options) {
		o.Storage.MaxKeySize, o.Storage.MaxValueSize = 10, 20
	})[0]
	ctx := ctxT(t)
	if err := g.Set(ctx, strings.Repeat("k", 11), nil); !errors.Is(err, gridkv.ErrKeyTooLarge) {
		t.Fatalf("long key: %v", err)
	}
	if err := g.Set(ctx, "k", make([]byte, 21)); !errors.Is(err, gridkv.ErrValueTooLarge) {
		t.Fatalf("long value: %v", err)
	}
	if _, err := g.Get(ctx, "k"); !errors.Is(err, gridkv.ErrNotFound) {
		t.Fatalf("refused value stored: %v", err)
	}
	if err := g.Set(ctx, "k", make([]byte, 20)); err != nil {
		t.Fatalf("value at the limit: %v", err)
	}
}
