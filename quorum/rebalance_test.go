package quorum

import (
	"testing"

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
