package quorum

import (
	"errors"
	"strings"
	"testing"

	"github.com/gridkv/gridkv/store"
)

// TestRootsBudget: a roots request may cover the hash space once (what a
// node's own requests, over disjoint shared ranges, cover at most); one
// that covers more, such as the whole space named maxRoots times, is
// refused before any digest is computed.
func TestRootsBudget(t *testing.T) {
	nd, _ := loneNode(t)

	whole := rootItem{r: store.Range{Start: 7, End: 7}}
	tiles := func(k int) []rootItem { // k (a power of two) ranges tiling the space exactly
		out := make([]rootItem, k)
		step := ^uint64(0)/uint64(k) + 1
		for i := range out {
			out[i].r = store.Range{Start: uint64(i) * step, End: uint64(i+1) * step}
		}
		return out
	}
	repeat := func(it rootItem, k int) []rootItem {
		out := make([]rootItem, k)
		for i := range out {
			out[i] = it
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		items []rootItem
		ok    bool
	}{
		{"whole space once", []rootItem{whole}, true},
		{"maxRoots ranges tiling the space", tiles(maxRoots), true},
		{"all but one hash, plus that hash", []rootItem{{r: store.Range{Start: 1, End: 0}}, {r: store.Range{Start: 0, End: 1}}}, true},
		{"whole space twice", repeat(whole, 2), false},
		{"whole space and one more hash", []rootItem{whole, {r: store.Range{Start: 3, End: 4}}}, false},
		{"tiles plus one more hash", append(tiles(maxRoots/2), rootItem{r: store.Range{Start: 3, End: 4}}), false},
		{"whole space maxRoots times", repeat(whole, maxRoots), false},
		{"half the space three times", repeat(rootItem{r: store.Range{Start: 0, End: 1 << 63}}, 3), false},
	} {
		reply, err := nd.Handle(t.Context(), "peer", encodeRoots(nil, tc.items))
		if tc.ok {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			} else if _, err := decodeIndices(reply, len(tc.items)); err != nil {
				t.Errorf("%s: reply %v", tc.name, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "more than the whole hash space") {
			t.Errorf("%s: %v, want the budget refusal", tc.name, err)
		}
	}
}

// TestSharedRangesWithinRootsBudget: the ranges a node sends a peer never
// exceed the budget, whatever the ring.
func TestSharedRangesWithinRootsBudget(t *testing.T) {
	for _, ids := range [][]string{{"a", "b"}, {"a", "b", "c"}, {"a", "b", "c", "d", "e", "f", "g"}} {
		r := newRing(t, ids)
		all := rangeTable(r, 3)
		items := make([]rootItem, len(all))
		for i, c := range all {
			items[i] = rootItem{r: toStore(c.Range)}
		}
		if err := checkRootsBudget(items); err != nil {
			t.Errorf("%d members: every range of the ring: %v", len(ids), err)
		}
	}
}
