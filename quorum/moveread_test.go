package quorum

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// moveReadConfig holds pulls back for the whole test (MoveDelay), so the
// replicas that receive a range stay receiving.
func moveReadConfig() Config {
	return Config{N: 3, W: 2, R: 2, MoveDelay: time.Hour, HintInterval: time.Hour, AntiEntropyInterval: -1, ReadRepair: RepairOff, HedgeDelay: 20 * time.Millisecond}
}

// writeNewest writes "v<i>" to every key, then "w<i>" with one old
// replica of the key down, so that the newest acknowledged value is on
// exactly W=2 replicas.
func writeNewest(t *testing.T, c *cluster, keys []string) {
	t.Helper()
	ctx := context.Background()
	for i, k := range keys {
		if err := c.nodes["n1"].Set(ctx, k, []byte(fmt.Sprint("v", i))); err != nil {
			t.Fatal(err)
		}
	}
	for i, k := range keys {
		reps := c.replicasOf(k)
		down := reps[i%len(reps)]
		via := reps[(i+1)%len(reps)]
		c.net.set(c.net.down, down, true)
		if err := c.nodes[via].Set(ctx, k, []byte(fmt.Sprint("w", i))); err != nil {
			t.Fatal(err)
		}
		c.net.set(c.net.down, down, false)
	}
	synctest.Wait()
}

// readWithOneDown reads every key that receiver newly replicates
// (among before's replicas it was not one), once with each of its other
// two replicas down (or frozen), through the remaining one and through
// receiver, and checks that it returns the newest acknowledged value.
func readWithOneDown(t *testing.T, c *cluster, keys []string, before map[string][]string, receiver string, frozen bool) int {
	t.Helper()
	m := c.net.down
	if frozen {
		m = c.net.frozen
	}
	ctx := context.Background()
	tested := 0
	for i, k := range keys {
		reps := c.replicasOf(k)
		if !slices.Contains(reps, receiver) || slices.Contains(before[k], receiver) {
			continue
		}
		tested++
		others := slices.DeleteFunc(slices.Clone(reps), func(id string) bool { return id == receiver })
		for j, d := range others {
			// Through the other non-receiving replica, and through the
			// receiving one (its own answer completed as a coordinator).
			for _, via := range []string{others[1-j], receiver} {
				c.net.set(m, d, true)
				v, err := c.nodes[via].Get(ctx, k)
				c.net.set(m, d, false)
				if err != nil || string(v) != fmt.Sprint("w", i) {
					t.Fatalf("Get %s via %s with %s %s (replicas %v, %s receiving): %q, %v; want %q",
						k, via, d, map[bool]string{false: "down", true: "frozen"}[frozen], reps, receiver, v, err, fmt.Sprint("w", i))
				}
			}
		}
	}
	if tested == 0 {
		t.Fatalf("no key moved to %s", receiver)
	}
	return tested
}

func replicaMap(c *cluster, keys []string) map[string][]string {
	m := make(map[string][]string, len(keys))
	for _, k := range keys {
		m[k] = c.replicasOf(k)
	}
	return m
}

// A 4th node joins a 3-node N=3 W=2 R=2 cluster and its pulls are held
// back. A read of a key it now replicates, with one of the key's two
// other replicas down (or hung), counts the new node's answer: it read
// the key from the old replicas. Before, it failed with ErrQuorumNotMet.
func TestMoveReadJoin(t *testing.T) {
	for _, frozen := range []bool{false, true} {
		t.Run(fmt.Sprint("frozen=", frozen), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := moveReadConfig()
				c := newCluster(t, 3, cfg)
				keys := keyList(200)
				writeNewest(t, c, keys)
				before := replicaMap(c, keys)
				// The new node learns the cluster first, then the cluster
				// learns it (a join whose first ring is the old one).
				nd := c.add("n4", 4, cfg)
				nd.SetRing(c.nodes["n1"].ring.Load().r)
				c.ids = append(c.ids, "n4")
				c.setRing(c.ids)
				time.Sleep(time.Second) // past proxyGrace, far from MoveDelay
				if nd.Stats().RangesReceiving == 0 {
					t.Fatal("n4 is not receiving")
				}
				readWithOneDown(t, c, keys, before, "n4", frozen)
				if s := nd.Stats(); s.RangesReceiving == 0 || s.EntriesMoved != 0 {
					t.Fatalf("n4 pulled (receiving %d, moved %d): the test no longer holds pulls back", s.RangesReceiving, s.EntriesMoved)
				}
				if nd.moves.counted.Load() == 0 {
					t.Fatal("no completed read counted")
				}
			})
		})
	}
}

// After a member leaves a 4-node cluster, every remaining member receives
// ranges at once. Reads of the moved keys with one of their two
// non-receiving replicas down succeed through the receiving one, which
// reads the key from the old replicas (the leaving node among them).
func TestMoveReadLeave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := moveReadConfig()
		c := newCluster(t, 4, cfg)
		keys := keyList(200)
		writeNewest(t, c, keys)
		before := replicaMap(c, keys)
		// n4 leaves the ring but keeps running (a graceful leave).
		c.ids = c.ids[:3]
		c.setRing(c.ids) // n4 too
		time.Sleep(time.Second)
		tested := 0
		for _, id := range c.ids {
			if c.nodes[id].Stats().RangesReceiving == 0 {
				continue
			}
			tested += readWithOneDown(t, c, keys, before, id, false)
		}
		if tested == 0 {
			t.Fatal("no member receives after the leave")
		}
	})
}

// A receiving replica that cannot read enough sources (the leaving node
// is gone and one old replica is down) still answers "receiving": its
// answer does not count, and the read fails rather than risk missing the
// newest write.
func TestMoveReadTooFewSources(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := moveReadConfig()
		c := newCluster(t, 4, cfg)
		keys := keyList(200)
		writeNewest(t, c, keys)
		before := replicaMap(c, keys)
		c.ids = c.ids[:3]
		for _, id := range c.ids {
			c.nodes[id].SetRing(newRing(t, c.ids))
		}
		c.net.set(c.net.down, "n4", true)
		time.Sleep(time.Second)
		ctx := context.Background()
		tested := 0
		for _, k := range keys {
			reps := c.replicasOf(k)
			if !slices.Contains(before[k], "n4") {
				continue
			}
			var recv string
			for _, id := range reps {
				if !slices.Contains(before[k], id) {
					recv = id
				}
			}
			others := slices.DeleteFunc(slices.Clone(reps), func(id string) bool { return id == recv })
			rn := c.nodes[recv]
			// Asked directly: the reply says "receiving".
			c.net.set(c.net.down, others[0], true)
			b, err := rn.Handle(ctx, "test", encodeRead(nil, k, 0))
			if err != nil {
				t.Fatal(err)
			}
			rr, err := decodeReadReply(b)
			if err != nil {
				t.Fatal(err)
			}
			if !rr.pending {
				t.Fatalf("%s answered %s as complete with only one of its sources (%v, n4 gone) reachable", recv, k, others)
			}
			// Through the coordinator: too few counting answers.
			_, err = c.nodes[others[1]].Get(ctx, k)
			c.net.set(c.net.down, others[0], false)
			if !errors.Is(err, ErrQuorumNotMet) {
				t.Fatalf("Get %s via %s with %s down, n4 gone and %s receiving: %v, want ErrQuorumNotMet", k, others[1], others[0], recv, err)
			}
			tested++
		}
		if tested == 0 {
			t.Fatal("no key moved")
		}
		for _, id := range c.ids {
			if n := c.nodes[id].moves.counted.Load(); n != 0 {
				t.Fatalf("%s counted %d completed reads with too few sources", id, n)
			}
		}
	})
}

// Bounds: a node that already completes moveReadLimit reads answers
// "receiving" at once; within proxyGrace of the start of its move it
// does too (a read Quick let inline just before must not call sources);
// and while a node of the process receives, Quick serves no read inline
// except direct ones (a source's answer from its store).
func TestMoveReadBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := moveReadConfig()
		c := newCluster(t, 3, cfg)
		keys := keyList(50)
		writeNewest(t, c, keys)
		before := replicaMap(c, keys)
		read := encodeRead(nil, "k", 0)
		if !Quick(read) {
			t.Fatal("Quick(read) = false with no node receiving")
		}
		nd := c.add("n4", 4, cfg)
		nd.SetRing(c.nodes["n1"].ring.Load().r)
		c.ids = append(c.ids, "n4")
		c.setRing(c.ids)
		synctest.Wait() // n4's moveLoop started: it counts in receivingNodes from then on
		if Quick(read) || !Quick(encodeRead(nil, "k", readDirect)) {
			t.Fatalf("while n4 receives: Quick(read) = %v, Quick(direct read) = %v; want false, true", Quick(read), Quick(encodeRead(nil, "k", readDirect)))
		}
		var k string
		for _, key := range keys {
			if slices.Contains(c.replicasOf(key), "n4") && !slices.Contains(before[key], "n4") {
				k = key
				break
			}
		}
		ctx := context.Background()
		pending := func() bool {
			t.Helper()
			b, err := nd.Handle(ctx, "test", encodeRead(nil, k, 0))
			if err != nil {
				t.Fatal(err)
			}
			rr, err := decodeReadReply(b)
			if err != nil {
				t.Fatal(err)
			}
			return rr.pending
		}
		if !pending() || nd.moves.proxied.Load() != 0 {
			t.Fatal("n4 completed a read within proxyGrace of starting to receive")
		}
		time.Sleep(proxyGrace)
		nd.moves.reads.Store(moveReadLimit)
		if !pending() || nd.moves.refused.Load() != 1 {
			t.Fatalf("n4 over its limit of reads: not refused (refused %d)", nd.moves.refused.Load())
		}
		nd.moves.reads.Store(0)
		if pending() || nd.moves.counted.Load() != 1 {
			t.Fatal("n4 did not complete a read with every source up")
		}
		// A direct read (a source asked by another receiving replica) is
		// answered from the store only, marked receiving.
		b, err := nd.Handle(ctx, "test", encodeRead(nil, k, readDirect))
		if err != nil {
			t.Fatal(err)
		}
		if rr, err := decodeReadReply(b); err != nil || !rr.pending || nd.moves.proxied.Load() != 1 {
			t.Fatalf("direct read of n4 while it receives: pending %v, %v, completed reads %d; want a receiving answer from its store", rr.pending, err, nd.moves.proxied.Load())
		}
		c.close()
		if receivingNodes.Load() != 0 {
			t.Fatalf("receivingNodes = %d after every node closed", receivingNodes.Load())
		}
	})
}

// Reads of every key keep working, and return the acknowledged value,
// before, during and after the pulls of a leave, with one remaining
// member down throughout: a receiving replica completes its answers from
// the sources its pull has not read completely yet (the others count
// without being asked again).
func TestMoveReadDuringPulls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{N: 3, W: 2, R: 2, MoveDelay: time.Second, HintInterval: time.Hour, AntiEntropyInterval: -1, ReadRepair: RepairOff, HedgeDelay: 20 * time.Millisecond}
		c := newCluster(t, 4, cfg)
		const keys = 1500
		c.writeKeys(keys, c.ids...)
		synctest.Wait()
		c.ids = c.ids[:3]
		c.setRing(c.ids) // n4 too
		c.net.set(c.net.down, "n3", true)
		ctx := context.Background()
		read := func(i int) {
			t.Helper()
			k := fmt.Sprint("key", i)
			via := []string{"n1", "n2"}[i%2]
			if v, err := c.nodes[via].Get(ctx, k); err != nil || string(v) != fmt.Sprint("v", i) {
				t.Fatalf("Get %s via %s with n3 down after n4 left (n1 receiving %d ranges, n2 %d): %q, %v",
					k, via, c.nodes["n1"].Stats().RangesReceiving, c.nodes["n2"].Stats().RangesReceiving, v, err)
			}
		}
		time.Sleep(500 * time.Millisecond) // past proxyGrace, before MoveDelay
		for i := range keys {
			read(i)
		}
		// Across the pulls: a key now and then, while they run.
		for i := range keys {
			if i%10 == 0 {
				time.Sleep(time.Millisecond)
			}
			read(i)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		for _, id := range []string{"n1", "n2"} {
			if r := c.nodes[id].Stats().RangesReceiving; r != 0 {
				t.Fatalf("%s still receives %d ranges with n3 down and n4 up", id, r)
			}
		}
		for i := range keys {
			read(i)
		}
		if c.nodes["n1"].moves.counted.Load()+c.nodes["n2"].moves.counted.Load() == 0 {
			t.Fatal("no read was completed from the sources")
		}
	})
}
