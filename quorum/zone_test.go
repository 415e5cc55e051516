package quorum

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gridkv/gridkv/ring"
	"github.com/gridkv/gridkv/store"
)

func TestReadOrderZones(t *testing.T) {
	ms := time.Millisecond
	ts := []target{
		{id: "far-fast", alive: true, far: true, rtt: 1 * ms},
		{id: "near-slow", alive: true, rtt: 9 * ms},
		{id: "down", alive: false, rtt: 1 * ms},
		{id: "near-stalled", alive: true, stalled: true, rtt: 1 * ms},
		{id: "far-unknown", alive: true, far: true},
		{id: "near-unknown", alive: true},
		{id: "local", alive: true, local: true},
		{id: "near-fast", alive: true, rtt: 2 * ms},
		{id: "far-slow", alive: true, far: true, rtt: 5 * ms},
		{id: "far-stalled", alive: true, far: true, stalled: true, rtt: 1 * ms},
	}
	var got []string
	for _, i := range readOrder(ts, nil) {
		got = append(got, ts[i].id)
	}
	want := []string{"local", "near-fast", "near-slow", "near-unknown", "far-fast", "far-slow", "far-unknown",
		"near-stalled", "far-stalled", "down"}
	if !slices.Equal(got, want) {
		t.Fatalf("readOrder = %v\nwant        %v", got, want)
	}
}

// TestReadsPreferLocalZone: with replicas in both zones, a read with R=1
// through a node that holds no replica asks the replica of its own zone,
// even when the other zone's replica has the lower RTT.
func TestReadsPreferLocalZone(t *testing.T) {
	cfg := Config{N: 2, W: 2, R: 1, ReadRepair: RepairOff, AntiEntropyInterval: -1}
	c := &cluster{t: t, net: newFakeNet(), ids: memberIDs(4), nodes: map[string]*Node{}, stores: map[string]*store.Store{}}
	t.Cleanup(c.close)
	zones := map[string]string{"n1": "eu", "n2": "us", "n3": "eu", "n4": "us"}
	ms := make([]ring.Member, len(c.ids))
	for i, id := range c.ids {
		c.add(id, uint32(i+1), cfg)
		ms[i] = ring.Member{ID: id, Zone: zones[id]}
	}
	r, err := ring.New(ms, ring.Config{Points: 64})
	if err != nil {
		t.Fatal(err)
	}
	for _, nd := range c.nodes {
		nd.SetRing(r)
	}
	reader := c.nodes["n1"]
	for id, z := range zones {
		if id == "n1" {
			continue
		}
		rtt := 5 * time.Millisecond
		if z != "eu" {
			rtt = time.Millisecond // the other zone is faster, still asked last
		}
		reader.SetRTT(id, rtt)
	}
	ctx := ctxT(t)
	checked := 0
	for k := 0; checked < 40 && k < 2000; k++ {
		key := fmt.Sprintf("zone-key-%d", k)
		reps := c.replicasOf(key)
		if slices.Contains(reps, "n1") {
			continue
		}
		var near, far string
		for _, id := range reps {
			if zones[id] == "eu" {
				near = id
			} else {
				far = id
			}
		}
		if near == "" || far == "" {
			t.Fatalf("%s: replicas %v do not span both zones", key, reps)
		}
		if err := reader.Set(ctx, key, []byte("v")); err != nil {
			t.Fatal(err)
		}
		n0, f0 := c.net.callCount(near), c.net.callCount(far)
		if v, err := reader.Get(ctx, key); err != nil || string(v) != "v" {
			t.Fatalf("Get %s = %q, %v", key, v, err)
		}
		if dn, df := c.net.callCount(near)-n0, c.net.callCount(far)-f0; dn != 1 || df != 0 {
			t.Fatalf("%s: the read asked the eu replica %s %d times and the us replica %s %d times, want 1 and 0", key, near, dn, far, df)
		}
		checked++
	}
	if checked < 40 {
		t.Fatalf("only %d keys without a replica on n1", checked)
	}
}
