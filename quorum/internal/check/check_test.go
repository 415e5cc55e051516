package check

import (
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/google/go-cmp/cmp"
	"github.com/gridkv/gridkv/hlc"
	"github.com/gridkv/gridkv/ring"
	"github.com/gridkv/gridkv/store"
)

var errTimeout = errors.New("timeout")

// h builds an Op quickly: times in milliseconds.
func h(client int, kind Kind, key, value string, call, ret int, out string, found bool, err error) Op {
	return Op{Client: client, Kind: kind, Key: key, Value: value, Out: out, Found: found, Err: err,
		Call: time.Duration(call) * time.Millisecond, Return: time.Duration(ret) * time.Millisecond}
}

func put(c int, key, v string, call, ret int) Op { return h(c, Put, key, v, call, ret, "", false, nil) }
func del(c int, key string, call, ret int) Op {
	return h(c, Delete, key, "", call, ret, "", false, nil)
}
func get(c int, key, out string, call, ret int) Op {
	return h(c, Get, key, "", call, ret, out, out != "", nil)
}
func failed(o Op) Op { o.Err = errTimeout; return o }

func TestLinearizable(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  []Op
		want porcupine.CheckResult
	}{
		{"empty", nil, porcupine.Ok},
		{"sequential", []Op{put(0, "x", "1", 0, 1), get(1, "x", "1", 2, 3), del(0, "x", 4, 5), get(1, "x", "", 6, 7)}, porcupine.Ok},
		{"initially not found", []Op{get(0, "x", "", 0, 1)}, porcupine.Ok},
		{"read from nowhere", []Op{get(0, "x", "1", 0, 1)}, porcupine.Illegal},
		{"stale read", []Op{put(0, "x", "1", 0, 1), put(0, "x", "2", 2, 3), get(1, "x", "1", 4, 5)}, porcupine.Illegal},
		{"read after delete", []Op{put(0, "x", "1", 0, 1), del(0, "x", 2, 3), get(1, "x", "1", 4, 5)}, porcupine.Illegal},
		{"lost write read as not found", []Op{put(0, "x", "1", 0, 1), get(1, "x", "", 2, 3)}, porcupine.Illegal},
		{"concurrent read may see either", []Op{put(0, "x", "1", 0, 1), put(0, "x", "2", 2, 10), get(1, "x", "1", 3, 4), get(2, "x", "2", 5, 6)}, porcupine.Ok},
		{"new then old (non-monotonic reads)", []Op{put(0, "x", "1", 0, 1), put(0, "x", "2", 2, 10), get(1, "x", "2", 3, 4), get(2, "x", "1", 5, 6)}, porcupine.Illegal},
		{"keys are independent", []Op{put(0, "x", "1", 0, 1), put(1, "y", "2", 0, 1), get(2, "x", "1", 2, 3), get(2, "y", "2", 2, 3)}, porcupine.Ok},
		{"keys do not mix", []Op{put(0, "x", "1", 0, 1), get(2, "y", "1", 2, 3)}, porcupine.Illegal},
		{"one bad key among good ones", []Op{put(0, "x", "1", 0, 1), get(2, "x", "1", 2, 3), get(2, "z", "", 2, 3), put(0, "y", "1", 0, 1), get(2, "y", "", 2, 3)}, porcupine.Illegal},
		// A failed write may take effect at any time after its call, or never.
		{"ambiguous write seen", []Op{failed(put(0, "x", "1", 0, 1)), get(1, "x", "1", 50, 51)}, porcupine.Ok},
		{"ambiguous write not seen", []Op{failed(put(0, "x", "1", 0, 1)), get(1, "x", "", 50, 51)}, porcupine.Ok},
		{"ambiguous write seen late", []Op{put(0, "x", "0", 0, 1), failed(put(0, "x", "1", 2, 3)), get(1, "x", "0", 50, 51), get(1, "x", "1", 60, 61)}, porcupine.Ok},
		{"ambiguous write not before its call", []Op{get(1, "x", "1", 0, 1), failed(put(0, "x", "1", 2, 3))}, porcupine.Illegal},
		{"ambiguous write takes effect once", []Op{put(0, "x", "0", 0, 1), failed(put(0, "x", "1", 2, 3)), get(1, "x", "1", 50, 51), put(0, "x", "2", 52, 53), get(1, "x", "1", 60, 61)}, porcupine.Illegal},
		{"ambiguous delete", []Op{put(0, "x", "0", 0, 1), failed(del(0, "x", 2, 3)), get(1, "x", "0", 50, 51), get(1, "x", "", 60, 61)}, porcupine.Ok},
		// A failed read says nothing.
		{"failed read dropped", []Op{put(0, "x", "1", 0, 1), failed(get(1, "x", "zzz", 2, 3))}, porcupine.Ok},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := Linearizable("test-"+tc.name, tc.ops, 5*time.Second)
			if res.Result != tc.want {
				t.Fatalf("%v, want %s", res, tc.want)
			}
			if tc.want == porcupine.Illegal {
				if res.VizPath == "" || res.VizErr != nil {
					t.Fatalf("no visualization: %v", res)
				}
				// The illegal key's operation comes last in every case.
				if want := tc.ops[len(tc.ops)-1].Key; len(res.BadKeys) != 1 || res.BadKeys[0] != want {
					t.Errorf("BadKeys = %q, want [%q]", res.BadKeys, want)
				}
				b, err := os.ReadFile(res.VizPath)
				if err != nil || !strings.Contains(string(b), "<html") {
					t.Errorf("visualization %s: %d bytes, %v", res.VizPath, len(b), err)
				}
				os.Remove(res.VizPath)
			}
		})
	}
}

func TestLinearizableNoVisualization(t *testing.T) {
	res := Linearizable("", []Op{get(0, "x", "1", 0, 1)}, time.Second)
	if res.Result != porcupine.Illegal || res.VizPath != "" || res.VizErr != nil {
		t.Errorf("%v, want Illegal without a visualization", res)
	}
}

func TestLinearizableCounts(t *testing.T) {
	ops := []Op{put(0, "x", "1", 0, 1), failed(put(0, "x", "2", 2, 3)), failed(get(1, "x", "", 2, 3)), get(1, "x", "1", 4, 5)}
	res := Linearizable("counts", ops, time.Second)
	if res.Result != porcupine.Ok || res.Ops != 3 || res.Ambiguous != 1 || res.Dropped != 1 {
		t.Errorf("%v, want Ok with 3 ops, 1 ambiguous, 1 dropped", res)
	}
}

func TestRecorderConcurrentSafe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := NewRecorder()
		var wg sync.WaitGroup
		for c := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 100 {
					call := rec.Begin(c, Put, "k", Value("k", c*1000+i))
					time.Sleep(time.Duration(c+1) * time.Millisecond)
					call.End(nil, false, nil)
				}
			}()
		}
		wg.Wait()
		ops := rec.Ops()
		if len(ops) != 800 {
			t.Fatalf("%d ops, want 800", len(ops))
		}
		for i, o := range ops {
			if i > 0 && o.Call < ops[i-1].Call {
				t.Fatalf("ops not sorted by call time at %d", i)
			}
			if o.Return-o.Call != time.Duration(o.Client+1)*time.Millisecond {
				t.Fatalf("op %v: duration %v, want %dms (virtual time)", o, o.Return-o.Call, o.Client+1)
			}
		}
		if n, k := MaxInFlight(ops); n != 8 || k != "k" {
			t.Errorf("MaxInFlight = %d, %q; want 8, k", n, k)
		}
		got := rec.Begin(3, Get, "k", "").On("n1").End([]byte("v"), true, nil)
		if got.Out != "v" || !got.Found || got.Kind != Get || got.Node != "n1" || !strings.Contains(got.String(), "client 3 via n1: get(k) -> \"v\"") {
			t.Errorf("End recorded %v", got)
		}
		if s := Summarize(rec.Ops()); s.Puts != 800 || s.Gets != 1 || s.Failed != 0 {
			t.Errorf("Summarize = %+v", s)
		}
	})
}

func TestMaxInFlight(t *testing.T) {
	ops := []Op{put(0, "x", "1", 0, 10), get(1, "x", "", 5, 6), get(2, "x", "", 10, 12), put(0, "y", "1", 0, 1), get(1, "y", "", 2, 3)}
	if n, k := MaxInFlight(ops); n != 2 || k != "x" {
		t.Errorf("MaxInFlight = %d, %q; want 2, x (one returns at 10 when the other starts)", n, k)
	}
}

func TestValues(t *testing.T) {
	for _, key := range []string{"a", "", "key=x;v=3", "k;v=9"} {
		v := Value(key, 7)
		if k, ok := KeyOf(v); !ok || k != key {
			t.Errorf("KeyOf(Value(%q)) = %q, %v", key, k, ok)
		}
	}
	if _, ok := KeyOf("garbage"); ok {
		t.Error("KeyOf(garbage) ok")
	}
	ops := []Op{
		get(0, "a", Value("a", 1), 0, 1),
		get(0, "a", Value("b", 1), 0, 1), // another key's value
		get(0, "a", "garbage", 0, 1),
		get(0, "a", "", 0, 1),                                            // not found: fine
		failed(get(0, "a", Value("b", 1), 0, 1)),                         // failed: ignored
		put(0, "a", Value("b", 1), 0, 1),                                 // writes are not reads
		get(0, "ab", Value("a", 1)+"b", 0, 1),                            // "key=a;v=1b" names a
		get(0, "a;v=1", Value("a;v=1", 2), 0, 1),                         // tricky keys
		get(0, "a", strings.Replace(Value("a", 1), "key=", "", 1), 0, 1), // no prefix
	}
	var got []int
	for _, o := range ForeignReads(ops) {
		for i := range ops {
			if cmp.Equal(ops[i], o, cmp.Comparer(func(a, b error) bool { return a == b })) {
				got = append(got, i)
				break
			}
		}
	}
	if diff := cmp.Diff([]int{1, 2, 6, 8}, got); diff != "" {
		t.Errorf("ForeignReads mismatch (-want +got):\n%s", diff)
	}
	if bad := UnwrittenReads([]Op{failed(put(0, "a", "1", 0, 1)), get(0, "a", "1", 2, 3), get(0, "a", "2", 2, 3)}); len(bad) != 1 || bad[0].Out != "2" {
		t.Errorf("UnwrittenReads = %v, want the read of 2", bad)
	}
}

func TestLostWrites(t *testing.T) {
	ops := []Op{put(0, "a", "va", 0, 1), put(0, "b", "vb", 0, 1), failed(put(0, "c", "vc", 0, 1)), put(0, "d", "vd", 0, 1), put(0, "e", "ve", 0, 1), get(0, "a", "va", 2, 3)}
	acked, err := AckedWrites(ops)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"a": "va", "b": "vb", "d": "vd", "e": "ve"}, acked); diff != "" {
		t.Fatalf("AckedWrites mismatch (-want +got):\n%s", diff)
	}
	cluster := map[string]string{"a": "va", "b": "other", "c": "vc", "e": "ve"}
	read := func(k string) ([]byte, bool, error) {
		if k == "e" {
			return nil, false, errTimeout
		}
		v, ok := cluster[k]
		return []byte(v), ok, nil
	}
	lost := LostWrites(acked, read)
	want := []string{`b: acknowledged "vb", read "other"`, `d: acknowledged "vd", read not found`, `e: acknowledged "ve", read failed: timeout`}
	if diff := cmp.Diff(want, lost); diff != "" {
		t.Errorf("LostWrites mismatch (-want +got):\n%s", diff)
	}
	if lost := LostWrites(map[string]string{"a": "va"}, read); len(lost) != 0 {
		t.Errorf("LostWrites of a surviving write: %v", lost)
	}
	if _, err := AckedWrites([]Op{put(0, "a", "1", 0, 1), failed(put(0, "a", "2", 0, 1))}); err == nil {
		t.Error("AckedWrites accepted a key written twice")
	}
	if _, err := AckedWrites([]Op{del(0, "a", 0, 1)}); err == nil {
		t.Error("AckedWrites accepted a delete")
	}
}

func TestCensus(t *testing.T) {
	members := []ring.Member{{ID: "n1"}, {ID: "n2"}, {ID: "n3"}, {ID: "n4"}}
	r, err := ring.New(members, ring.Config{Points: 64})
	if err != nil {
		t.Fatal(err)
	}
	const n = 2
	newStores := func() map[string]*store.Store {
		m := make(map[string]*store.Store)
		for _, mb := range append(members, ring.Member{ID: "gone"}) {
			s, err := store.New(&store.Config{SweepInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			m[mb.ID] = s
		}
		return m
	}
	replicas := func(key string) []string {
		var ids []string
		for _, i := range r.Replicas(ring.KeyHash(key), n, nil) {
			ids = append(ids, r.Member(i).ID)
		}
		return ids
	}
	nonReplica := func(key string) string {
		for _, m := range members {
			if !strings.Contains(strings.Join(replicas(key), ","), m.ID) {
				return m.ID
			}
		}
		t.Fatal("no non-replica")
		return ""
	}
	v := func(ts int64) store.Version { return store.Version{Time: hlc.New(ts, 0), Node: 1} }
	setOn := func(stores map[string]*store.Store, key, val string, ver store.Version, ids ...string) {
		for _, id := range ids {
			if _, err := stores[id].Apply(store.Entry{Key: key, Value: []byte(val), Version: ver, Tombstone: val == ""}); err != nil {
				t.Fatal(err)
			}
		}
	}
	healthy := func() map[string]*store.Store {
		s := newStores()
		for i, k := range []string{"a", "b", "c", "d", "e"} {
			setOn(s, k, Value(k, i), v(1000+int64(i)), replicas(k)...)
		}
		setOn(s, "dead", "", v(2000), replicas("dead")...)
		return s
	}
	opts := CensusOptions{N: n}
	allKeys := []string{"a", "b", "c", "d", "e", "dead", "f", "a"}
	check := func(name string, stores map[string]*store.Store, opts CensusOptions, want ...string) {
		t.Helper()
		if opts.Keys == nil {
			// The fast path must find the same problems.
			fast := opts
			fast.Keys = append(allKeys[:len(allKeys):len(allKeys)], opts.Require...)
			if diff := cmp.Diff(Census(r, stores, opts), Census(r, stores, fast)); diff != "" {
				t.Errorf("%s: scan and known-keys census differ (-scan +keys):\n%s", name, diff)
			}
		}
		got := Census(r, stores, opts)
		if len(got) != len(want) {
			t.Errorf("%s: %d problems, want %d: %q", name, len(got), len(want), got)
			return
		}
		for i := range want {
			if !strings.Contains(got[i].Text, want[i]) {
				t.Errorf("%s: problem %d = %q, want it to contain %q", name, i, got[i], want[i])
			}
			var kind ProblemKind
			switch {
			case strings.Contains(want[i], "missing on replica"):
				kind = Missing
			case strings.Contains(want[i], "stray copy"):
				kind = Stray
			case strings.Contains(want[i], "no store"):
				kind = NoStore
			case strings.Contains(want[i], ": on "):
				kind = Unlisted
			case strings.Contains(want[i], "holds"):
				kind = Stale
			}
			if kind != 0 && got[i].Kind != kind {
				t.Errorf("%s: problem %d = %q has kind %d, want %d", name, i, got[i], got[i].Kind, kind)
			}
		}
	}
	check("healthy", healthy(), opts)
	check("healthy, known keys", healthy(), CensusOptions{N: n, Keys: allKeys})
	s := healthy()
	setOn(s, "zz", "x", v(3000), replicas("zz")...)
	check("unlisted key", s, CensusOptions{N: n, Keys: allKeys}, `key "zz": on `, `key "zz": on `)
	check("required key present", healthy(), CensusOptions{N: n, Require: []string{"a", "dead"}})
	check("required key absent", healthy(), CensusOptions{N: n, Require: []string{"zz"}}, `key "zz": missing on replica`, `key "zz": missing on replica`)

	s = healthy()
	s[replicas("a")[1]].Delete("a", store.Version{Time: hlc.New(500, 0), Node: 1}) // older: ignored by LWW
	setOn(s, "b", "", v(500), replicas("b")[0])                                    // older tombstone: ignored
	check("older writes ignored by the stores", s, opts)

	s = healthy()
	setOn(s, "a", Value("a", 9), v(5000), replicas("a")[0])
	check("stale replica", s, opts, `key "a": replica `+replicas("a")[1]+` holds`)

	s = healthy()
	setOn(s, "f", Value("f", 9), v(5000), replicas("f")[0])
	check("missing on one replica", s, opts, `key "f": missing on replica `+replicas("f")[1])

	// Same version, different contents (two writers with one NodeID).
	s = newStores()
	setOn(s, "a", "x", v(1000), replicas("a")[0])
	setOn(s, "a", "y", v(1000), replicas("a")[1])
	check("diverged copies of one version", s, opts, `key "a": replica `)
	if got := Census(r, s, opts); len(got) == 1 && (got[0].Kind != Diverged || !strings.Contains(got[0].Text, "another copy of that version")) {
		t.Errorf("diverged copies: %q", got)
	}

	s = healthy()
	setOn(s, "c", Value("c", 2), v(1002), nonReplica("c"))
	check("stray value", s, opts, `key "c": stray copy on `+nonReplica("c"))

	s = healthy()
	setOn(s, "c", Value("c", 2), v(1002), "gone")
	check("stray value on a departed node", s, opts, `key "c": stray copy on gone`)

	s = healthy()
	setOn(s, "dead", "", v(2000), nonReplica("dead"))
	check("stray tombstone", s, opts, `key "dead": stray copy on `+nonReplica("dead"))
	check("stray tombstone allowed", s, CensusOptions{N: n, StrayTombstones: true})

	s = healthy()
	delete(s, "n3")
	check("member without store", s, opts, "member n3: no store")
}

func TestStaleReads(t *testing.T) {
	ver := func(ts int64) store.Version { return store.Version{Time: hlc.New(ts, 0), Node: 1} }
	versions := map[KeyValue]store.Version{{"a", "1"}: ver(10), {"a", "2"}: ver(20), {"a", "0"}: ver(5), {"b", "1"}: ver(1)}
	for _, tc := range []struct {
		name string
		ops  []Op
		bad  int
	}{
		{"fresh reads", []Op{put(0, "a", "1", 0, 1), get(1, "a", "1", 2, 3), put(0, "a", "2", 4, 5), get(1, "a", "2", 6, 7)}, 0},
		{"concurrent read may see the older", []Op{put(0, "a", "1", 0, 1), put(0, "a", "2", 2, 5), get(1, "a", "1", 3, 4)}, 0},
		{"read before any put", []Op{get(1, "a", "", 0, 1), put(0, "a", "1", 2, 3)}, 0},
		{"stale value", []Op{put(0, "a", "1", 0, 1), put(0, "a", "2", 2, 3), get(1, "a", "1", 4, 5)}, 1},
		{"not found after a put", []Op{put(0, "a", "1", 0, 1), get(1, "a", "", 2, 3)}, 1},
		// Versions, not real time, decide: a put acknowledged later with a
		// lower version (clock skew) lost to the higher one.
		{"lower version acknowledged later", []Op{put(0, "a", "1", 0, 1), put(0, "a", "0", 2, 3), get(1, "a", "1", 4, 5)}, 0},
		{"failed put is no lower bound", []Op{put(0, "a", "1", 0, 1), failed(put(0, "a", "2", 2, 3)), get(1, "a", "1", 4, 5)}, 0},
		{"failed read ignored", []Op{put(0, "a", "2", 0, 1), failed(get(1, "a", "1", 4, 5))}, 0},
		{"keys apart", []Op{put(0, "a", "2", 0, 1), get(1, "b", "", 2, 3)}, 0},
		{"unknown version", []Op{put(0, "a", "9", 0, 1)}, 1},
		{"deletes refused", []Op{del(0, "a", 0, 1)}, 1},
	} {
		if got := StaleReads(tc.ops, versions); len(got) != tc.bad {
			t.Errorf("%s: %d problems, want %d: %q", tc.name, len(got), tc.bad, got)
		}
	}
}
