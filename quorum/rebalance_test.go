package quorum

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridkv/gridkv/ring"
	"github.com/gridkv/gridkv/store"
)

func TestMoveSet(t *testing.T) {
	var m moveSet
	if m.receiving(5) || m.overlaps(store.Range{}) {
		t.Fatal("empty set receives")
	}
	m.jobs = []moveJob{{r: ring.Range{Start: 100, End: 200}}, {r: ring.Range{Start: 10, End: 20}}, {r: ring.Range{Start: 1 << 63, End: 0}}}
	m.publish()
	for _, tt := range []struct {
		h    uint64
		want bool
	}{{9, false}, {10, true}, {19, true}, {20, false}, {99, false}, {100, true}, {199, true}, {200, false}, {1<<63 - 1, false}, {1 << 63, true}, {^uint64(0), true}} {
		if got := m.receiving(tt.h); got != tt.want {
			t.Errorf("receiving(%d) = %v, want %v", tt.h, got, tt.want)
		}
	}
	for _, tt := range []struct {
		r    store.Range
		want bool
	}{
		{store.Range{Start: 0, End: 10}, false},
		{store.Range{Start: 0, End: 11}, true},
		{store.Range{Start: 20, End: 100}, false},
		{store.Range{Start: 150, End: 160}, true},
		{store.Range{Start: 300, End: 1 << 63}, false},
		{store.Range{Start: 300, End: 0}, true}, // to 2^64
		{store.Range{}, true},                   // everything
	} {
		if got := m.overlaps(tt.r); got != tt.want {
			t.Errorf("overlaps(%v) = %v, want %v", tt.r, got, tt.want)
		}
	}
}

// rangeTable covers the hash space exactly once, in order, and agrees
// with Replicas.
func TestRangeTable(t *testing.T) {
	r := newRing(t, []string{"a", "b", "c", "d"})
	tab := rangeTable(r, 3)
	if len(tab) == 0 || tab[0].Range.Start != 0 || tab[len(tab)-1].Range.End != 0 {
		t.Fatalf("table does not span the space: %d ranges", len(tab))
	}
	for i, c := range tab {
		if i > 0 && tab[i-1].Range.End != c.Range.Start {
			t.Fatalf("gap or overlap before range %d", i)
		}
		var want []string
		for _, m := range r.Replicas(c.Range.Start, 3, nil) {
			want = append(want, r.Member(m).ID)
		}
		if diff := cmp.Diff(want, c.To); diff != "" {
			t.Fatalf("range %d replicas mismatch (-want +got):\n%s", i, diff)
		}
	}
	one := rangeTable(newRing(t, []string{"a"}), 3)
	if len(one) != 1 || one[0].Range != (ring.Range{}) || !cmp.Equal(one[0].To, []string{"a"}) {
		t.Errorf("one-member table = %+v", one)
	}
}

func TestSplitRange(t *testing.T) {
	for _, r := range []store.Range{{Start: 0, End: 0}, {Start: 100, End: 0}, {Start: 5, End: 1005}, {Start: 7, End: 9}} {
		parts := splitRange(r, 16)
		if parts[0].Start != r.Start || parts[len(parts)-1].End != r.End {
			t.Errorf("split of %v does not keep its ends: %v", r, parts)
		}
		for i := 1; i < len(parts); i++ {
			if parts[i-1].End != parts[i].Start || parts[i].Start == parts[i].End {
				t.Errorf("split of %v: bad part %d: %v", r, i, parts)
			}
		}
		if r.End-r.Start >= 16 || r.End == r.Start {
			if len(parts) != 16 {
				t.Errorf("split of %v gave %d parts", r, len(parts))
			}
		} else if len(parts) != 1 {
			t.Errorf("narrow %v split into %d", r, len(parts))
		}
	}
}

func TestCompareVersions(t *testing.T) {
	kv := func(k string, ms int64) store.KeyVersion { return store.KeyVersion{Key: k, Version: ver(ms)} }
	ours := []store.KeyVersion{kv("same", 1), kv("oursNewer", 5), kv("theirsNewer", 1), kv("onlyOurs", 1)}
	theirs := []store.KeyVersion{kv("same", 1), kv("oursNewer", 4), kv("theirsNewer", 2), kv("onlyTheirs", 1)}
	push, pull := compareVersions(ours, theirs)
	if diff := cmp.Diff([]string{"oursNewer", "onlyOurs"}, push); diff != "" {
		t.Errorf("push mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"theirsNewer", "onlyTheirs"}, pull); diff != "" {
		t.Errorf("pull mismatch (-want +got):\n%s", diff)
	}
}

func TestIntersectOverlapping(t *testing.T) {
	tab := []ring.Change{{Range: ring.Range{Start: 0, End: 100}, To: []string{"a"}}, {Range: ring.Range{Start: 100, End: 1 << 63}, To: []string{"b"}}, {Range: ring.Range{Start: 1 << 63, End: 0}, To: []string{"c"}}}
	for _, tt := range []struct {
		r    ring.Range
		want []string
	}{
		{ring.Range{Start: 0, End: 1}, []string{"a"}},
		{ring.Range{Start: 99, End: 101}, []string{"a", "b"}},
		{ring.Range{Start: 100, End: 0}, []string{"b", "c"}},
		{ring.Range{}, []string{"a", "b", "c"}},
		{ring.Range{Start: ^uint64(0), End: 0}, []string{"c"}},
	} {
		var got []string
		for _, c := range overlapping(tab, tt.r) {
			got = append(got, c.To[0])
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("overlapping(%v) mismatch (-want +got):\n%s", tt.r, diff)
		}
	}
	if got := replicasAt(tab, 1<<63); !cmp.Equal(got, []string{"c"}) {
		t.Errorf("replicasAt = %v", got)
	}
	for _, tt := range []struct {
		a, b ring.Range
		want ring.Range
		ok   bool
	}{
		{ring.Range{Start: 0, End: 10}, ring.Range{Start: 5, End: 20}, ring.Range{Start: 5, End: 10}, true},
		{ring.Range{Start: 0, End: 10}, ring.Range{Start: 10, End: 20}, ring.Range{}, false},
		{ring.Range{}, ring.Range{Start: 7, End: 0}, ring.Range{Start: 7, End: 0}, true},
		{ring.Range{Start: 5, End: 0}, ring.Range{Start: 0, End: 6}, ring.Range{Start: 5, End: 6}, true},
	} {
		got, ok := intersect(tt.a, tt.b)
		if got != tt.want || ok != tt.ok {
			t.Errorf("intersect(%v, %v) = %v %v, want %v %v", tt.a, tt.b, got, ok, tt.want, tt.ok)
		}
	}
}

// checkExactlyN fails unless every key lives (value or tombstone) on
// exactly its N replicas in the current ring, all with one version, and
// on no other node of the cluster (members or not).
func (c *cluster) checkExactlyN(t *testing.T, keys []string) {
	t.Helper()
	ids := make([]string, 0, len(c.stores))
	for id := range c.stores {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, k := range keys {
		reps := c.replicasOf(k)
		var on []string
		var want store.Version
		for _, id := range ids {
			e, ok := c.stores[id].Read(k)
			if !ok {
				continue
			}
			on = append(on, id)
			if want.IsZero() {
				want = e.Version
			} else if e.Version != want {
				t.Errorf("%s: %s holds version %v, another node %v", k, id, e.Version, want)
			}
		}
		got, wantOn := slices.Clone(on), slices.Clone(reps)
		slices.Sort(wantOn)
		if !slices.Equal(got, wantOn) {
			t.Errorf("%s is on %v, want exactly its replicas %v", k, got, reps)
		}
	}
}

func keyList(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprint("key", i)
	}
	return keys
}

// After members join and leave, every key (values and tombstones) ends on
// exactly its N new replicas: the old replicas drop their copies once the
// new ones hold them, and a member that left holds nothing.
func TestHandoffExactlyN(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rings [][]string // after the first, one ring change each
	}{
		{"join", [][]string{{"n1", "n2", "n3", "n4"}, {"n1", "n2", "n3", "n4", "n5"}}},
		{"leave", [][]string{{"n1", "n2", "n3", "n4", "n5"}, {"n1", "n3", "n4", "n5"}}},
		{"join then leave at once", [][]string{{"n1", "n2", "n3", "n4"}, {"n1", "n2", "n3", "n4", "n5"}, {"n1", "n3", "n4", "n5"}}},
		{"to fewer members than N", [][]string{{"n1", "n2", "n3", "n4"}, {"n1", "n2"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := Config{MoveDelay: time.Second, HintInterval: time.Second, AntiEntropyInterval: -1}
				c := newCluster(t, len(tc.rings[0]), cfg)
				c.setRing(tc.rings[0])
				ctx := context.Background()
				keys := keyList(300)
				for i, k := range keys {
					nd := c.nodes[tc.rings[0][i%len(tc.rings[0])]]
					if err := nd.Set(ctx, k, []byte(fmt.Sprint("v", i))); err != nil {
						t.Fatal(err)
					}
					if i%5 == 0 {
						if err := nd.Delete(ctx, k); err != nil {
							t.Fatal(err)
						}
					}
				}
				synctest.Wait()
				joinCfg := cfg
				joinCfg.Join = true
				for _, ring := range tc.rings[1:] {
					for _, id := range ring {
						if c.nodes[id] == nil {
							c.add(id, uint32(len(c.nodes)+1), joinCfg)
						}
					}
					c.setRing(ring)
				}
				time.Sleep(10 * time.Second)
				synctest.Wait()
				c.checkExactlyN(t, keys)
				var handedOff uint64
				for id, nd := range c.nodes {
					s := nd.Stats()
					handedOff += s.EntriesHandedOff
					if s.RangesHandingOff != 0 || s.RangesReceiving != 0 {
						t.Errorf("%s: %d ranges still handed off, %d receiving", id, s.RangesHandingOff, s.RangesReceiving)
					}
				}
				if handedOff == 0 {
					t.Error("no entry was handed off")
				}
				// Every key still reads as written.
				for i, k := range keys {
					got, err := c.nodes["n1"].Get(ctx, k, WithConsistency(All))
					switch {
					case i%5 == 0 && !errors.Is(err, ErrNotFound):
						t.Errorf("Get deleted %s = %q, %v", k, got, err)
					case i%5 != 0 && (err != nil || string(got) != fmt.Sprint("v", i)):
						t.Errorf("Get %s = %q, %v", k, got, err)
					}
				}
			})
		})
	}
}

// A write that a coordinator still using the old ring sends to a leaving
// replica after the new replicas finished pulling reaches the new replica
// set before the leaving replica drops it: the handoff checks versions key
// by key, not time.
func TestHandoffLateOldRingWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{MoveDelay: 100 * time.Millisecond, HintInterval: time.Second, AntiEntropyInterval: -1}
		c := newCluster(t, 4, cfg)
		ctx := context.Background()
		keys := keyList(100)
		for i, k := range keys {
			if err := c.nodes["n1"].Set(ctx, k, []byte(fmt.Sprint("v", i))); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		oldRing := c.nodes["n1"].ring.Load()
		// n4 leaves; n1 does not hear of it yet.
		next := newRing(t, []string{"n1", "n2", "n3"})
		for _, id := range []string{"n2", "n3", "n4"} {
			c.nodes[id].SetRing(next)
		}
		// A key that n4 replicated, written through n1 on the old ring
		// once the new replicas' pulls are done.
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		late := ""
		for i := 0; late == ""; i++ {
			k := fmt.Sprint("late", i)
			var reps []string
			for _, m := range oldRing.r.Replicas(store.KeyHash(k), 3, nil) {
				reps = append(reps, oldRing.ids[m])
			}
			if slices.Contains(reps, "n4") {
				late = k
			}
		}
		if err := c.nodes["n1"].Set(ctx, late, []byte("late")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if _, ok := c.stores["n4"].Read(late); !ok {
			t.Fatal("the old-ring write did not reach n4")
		}
		c.nodes["n1"].SetRing(next)
		c.ids = []string{"n1", "n2", "n3"}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		c.checkExactlyN(t, append(keys, late))
		if v, ok := c.stores["n4"].View(late); ok {
			t.Errorf("n4 still holds %s = %q", late, v)
		}
		if s := c.nodes["n4"].Stats(); s.EntriesHandoffPushed == 0 {
			t.Error("n4 pushed nothing: the late write was not handed over")
		}
	})
}

// A range that comes back to a node before it handed it off is kept:
// nothing is dropped, and every key stays on its replicas.
func TestHandoffRangeComesBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{MoveDelay: 2 * time.Second, HintInterval: 500 * time.Millisecond, AntiEntropyInterval: -1}
		c := newCluster(t, 4, cfg)
		ctx := context.Background()
		keys := keyList(200)
		for i, k := range keys {
			if err := c.nodes["n1"].Set(ctx, k, []byte(fmt.Sprint("v", i))); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		joinCfg := cfg
		joinCfg.Join = true
		c.add("n5", 5, joinCfg)
		c.setRing([]string{"n1", "n2", "n3", "n4", "n5"})
		handing := 0
		for _, id := range c.ids {
			handing += c.nodes[id].Stats().RangesHandingOff
		}
		if handing == 0 {
			t.Fatal("no node hands off anything after n5 joined")
		}
		// n5 goes again before any handoff round ran.
		time.Sleep(100 * time.Millisecond)
		c.setRing(c.ids)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		for _, id := range c.ids {
			if s := c.nodes[id].Stats(); s.EntriesHandedOff != 0 || s.RangesHandingOff != 0 {
				t.Errorf("%s dropped %d entries of ranges that came back (%d ranges handed off)", id, s.EntriesHandedOff, s.RangesHandingOff)
			}
		}
		c.checkExactlyN(t, keys)
	})
}

// A node that restarts empty with Join receives far more ranges than
// bulkPullMin (a range per ring cell). It reads each source whole, a few
// paged scans, instead of a round trip per range and source, keeps only
// the keys it replicates, and finishes receiving in one round.
func TestJoinPullsSourcesWhole(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{MoveDelay: time.Second, HintInterval: time.Hour, AntiEntropyInterval: -1}
		c := newCluster(t, 4, cfg)
		ctx := context.Background()
		keys := keyList(300)
		for i, k := range keys {
			if err := c.nodes[c.ids[i%4]].Set(ctx, k, []byte(fmt.Sprint("v", i))); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		r := c.nodes["n1"].ring.Load().r
		joinCfg := cfg
		joinCfg.Join = true
		nd := c.replaceEmpty("n2", 9, joinCfg)
		before := map[string]int{}
		for _, id := range c.ids {
			before[id] = c.net.callCount(id)
		}
		nd.SetRing(r)
		ranges := nd.Stats().RangesReceiving
		if ranges < 100 {
			t.Fatalf("n2 receives %d ranges, want over 100", ranges)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if s := nd.Stats(); s.RangesReceiving != 0 {
			t.Fatalf("n2 still receives %d of %d ranges after one round", s.RangesReceiving, ranges)
		}
		for _, id := range c.ids {
			if id == "n2" {
				continue
			}
			if calls := c.net.callCount(id) - before[id]; calls > 4 {
				t.Errorf("%d calls to %s to pull %d ranges, want a few pages", calls, id, ranges)
			}
		}
		for i, k := range keys {
			mine := slices.Contains(c.replicasOf(k), "n2")
			v, held := c.stores["n2"].View(k)
			switch {
			case mine && (!held || string(v) != fmt.Sprint("v", i)):
				t.Errorf("n2 replicates %s but holds %q, %v", k, v, held)
			case !mine && held:
				t.Errorf("n2 does not replicate %s but holds a copy", k)
			}
		}
	})
}

// A node that restarts empty with Join was itself one of the replicas
// that acknowledged earlier writes: a write acknowledged by it and one
// other replica (W=2 of N=3) is now on that other replica only. So it
// stays receiving until it has read all its sources, not all but W-1.
func TestJoinCountsLostCopy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{MoveDelay: time.Second, HintInterval: time.Hour, AntiEntropyInterval: -1}
		c := newCluster(t, 3, cfg)
		ctx := context.Background()
		keys := keyList(100)
		c.net.set(c.net.down, "n3", true)
		for i, k := range keys {
			if err := c.nodes["n1"].Set(ctx, k, []byte(fmt.Sprint("v", i))); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		r := c.nodes["n1"].ring.Load().r
		joinCfg := cfg
		joinCfg.Join = true
		nd := c.replaceEmpty("n2", 9, joinCfg)
		// Only n1 holds the writes, and it is cut off; n3 answers without them.
		c.net.set(c.net.down, "n3", false)
		c.net.set(c.net.down, "n1", true)
		nd.SetRing(r)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if s := nd.Stats(); s.RangesReceiving == 0 {
			t.Fatal("n2 stopped receiving with the only other copy of the writes unread")
		}
		for _, k := range keys {
			if _, err := nd.Get(ctx, k); !errors.Is(err, ErrQuorumNotMet) {
				t.Fatalf("Get %s via n2 with n1 cut off: %v, want ErrQuorumNotMet", k, err)
			}
		}
		c.net.set(c.net.down, "n1", false)
		nd.SetRing(r) // as after a membership event: the pull runs again
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if s := nd.Stats(); s.RangesReceiving != 0 {
			t.Fatalf("n2 still receives %d ranges with every source back", s.RangesReceiving)
		}
		for i, k := range keys {
			if v, ok := c.stores["n2"].View(k); !ok || string(v) != fmt.Sprint("v", i) {
				t.Fatalf("n2 holds %s = %q, %v after its pull", k, v, ok)
			}
		}
	})
}
