package quorum

import (
	"testing"
	"testing/synctest"
	"time"
)

// moveCluster starts n members (pulls after a second, no hints,
// anti-entropy nor read repair) holding keys written on every member, and
// returns the cluster and its config.
func moveCluster(t *testing.T, n, keys int) (*cluster, Config) {
	cfg := Config{MoveDelay: time.Second, HintInterval: time.Hour, AntiEntropyInterval: -1, ReadRepair: RepairOff}
	c := newCluster(t, n, cfg)
	c.writeKeys(keys, c.ids...)
	synctest.Wait()
	return c, cfg
}

// When a member leaves, every remaining member receives ranges at once,
// and each is a source of the others' pulls. A source read whole (many
// ranges) that says it is receiving "some range" must not count as
// receiving every range: the pulls must finish, not wait on each other
// forever.
func TestLeaveWhileSourcesReceive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const keys = 2000
		c, _ := moveCluster(t, 4, keys)
		// n4 is gone (it left; nobody can reach it any more).
		c.net.set(c.net.down, "n4", true)
		c.nodes["n4"].Close()
		delete(c.nodes, "n4")
		c.ids = c.ids[:3]
		c.setRing(c.ids)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		for _, id := range c.ids {
			if s := c.nodes[id].Stats(); s.RangesReceiving != 0 {
				t.Fatalf("%s still receives %d ranges after the leave", id, s.RangesReceiving)
			}
		}
		c.checkConverged(t, keys)
	})
}

// A pull round that could not read every source it needs is retried;
// the retry reads only the sources not yet read completely, not again
// the whole store of the ones already copied.
func TestMoveRetryReadsOnlyMissingSources(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const keys = 2000
		c, cfg := moveCluster(t, 4, keys)
		r := c.nodes["n1"].ring.Load().r
		join := cfg
		join.Join = true
		nd := c.replaceEmpty("n2", 9, join)
		c.net.set(c.net.down, "n3", true)
		nd.SetRing(r)
		time.Sleep(1500 * time.Millisecond) // the first round ran, without n3
		synctest.Wait()
		pending := nd.Stats().RangesReceiving
		if pending == 0 {
			t.Fatal("n2 finished receiving without n3, one of the sources it needs")
		}
		before := c.net.callCount("n1")
		c.net.set(c.net.down, "n3", false)
		time.Sleep(3 * time.Second) // retries, with n3 back
		synctest.Wait()
		if s := nd.Stats(); s.RangesReceiving != 0 {
			t.Fatalf("n2 still receives %d of %d ranges with n3 back", s.RangesReceiving, pending)
		}
		if calls := c.net.callCount("n1") - before; calls != 0 {
			t.Errorf("the retries made %d calls to n1, which was read completely in the first round", calls)
		}
		c.checkConverged(t, keys)
	})
}

// The pulls of a move of many ranges finish in a bounded number of calls
// whatever the number of keys: a joining node reads each source in pages,
// not a round trip per key nor per range and source.
func TestJoinPullCallsScaleWithData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const keys = 20000
		c, cfg := moveCluster(t, 3, keys)
		join := cfg
		join.Join = true
		c.ids = append(c.ids, "n4")
		nd := c.add("n4", 4, join)
		before := map[string]int{}
		for _, id := range c.ids {
			before[id] = c.net.callCount(id)
		}
		c.setRing(c.ids)
		ranges := nd.Stats().RangesReceiving
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if s := nd.Stats(); s.RangesReceiving != 0 {
			t.Fatalf("n4 still receives %d of %d ranges after one round", s.RangesReceiving, ranges)
		}
		calls := 0
		for _, id := range c.ids[:3] {
			calls += c.net.callCount(id) - before[id]
		}
		// A page of 512 entries per call for the copied source, listings of
		// 4096 versions for the others, and the old replicas' handoff rounds
		// (a versions listing per range and replica each): far fewer than a
		// call per key.
		if limit := 3*keys/512 + 8*ranges; calls > limit {
			t.Errorf("%d calls to move %d ranges of %d keys, want at most %d", calls, ranges, keys, limit)
		}
		t.Logf("%d calls to move %d ranges of %d keys", calls, ranges, keys)
		c.checkConverged(t, keys)
	})
}
