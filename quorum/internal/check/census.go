package check

import (
	"bytes"
	"fmt"
	"slices"
	"sort"

	"github.com/gridkv/gridkv/ring"
	"github.com/gridkv/gridkv/store"
)

// ProblemKind classifies a census finding.
type ProblemKind uint8

// Census findings.
const (
	Missing  ProblemKind = iota + 1 // a replica lacks the key
	Stale                           // a replica holds an older version
	Diverged                        // two copies of one version differ
	Stray                           // a copy on a node that does not replicate the key
	Unlisted                        // a key not in CensusOptions.Keys
	NoStore                         // a ring member without a store
)

// Problem is one census finding.
type Problem struct {
	Kind ProblemKind
	Key  string
	Node string
	Text string // the whole description
}

func (p Problem) String() string { return p.Text }

// CensusOptions tune Census.
type CensusOptions struct {
	// N is the replication factor (replicas per key).
	N int
	// StrayTombstones allows tombstones on nodes that are not replicas of
	// their key (an engine may leave them to expire instead of deleting
	// them after a transfer). Stray live values are always reported.
	StrayTombstones bool
	// Require lists keys that must be present (as values or tombstones)
	// on their replicas, even if no store holds them at all.
	Require []string
	// Keys, if not nil, lists every key the workload wrote. Census then
	// reads those keys and scans a store only when it counts more entries
	// than it was found to hold: a full scan is slow under the race
	// detector. Nil means scan every store.
	Keys []string
}

// Census compares the stores of every member of r after the cluster was
// healed and quiet. It reports, in a stable order:
//   - a key missing on one of its N replicas;
//   - a replica whose version of a key is not the highest any store holds;
//   - two replicas with the same version but different contents;
//   - a copy on a node that is not one of the key's replicas (unless it is
//     a tombstone and StrayTombstones is set);
//   - a member of r with no store in stores, or a store of a non-member
//     that holds anything.
func Census(r *ring.Ring, stores map[string]*store.Store, opts CensusOptions) []Problem {
	var problems []Problem
	type copyOf struct {
		node string
		e    store.Entry
	}
	holders := make(map[string][]copyOf)
	nodes := make([]string, 0, len(stores))
	for id := range stores {
		nodes = append(nodes, id)
	}
	sort.Strings(nodes)
	for _, id := range nodes {
		s := stores[id]
		if opts.Keys == nil {
			for _, e := range scanAll(s) {
				holders[e.Key] = append(holders[e.Key], copyOf{id, e})
			}
			continue
		}
		known := make(map[string]bool, len(opts.Keys))
		held := 0
		for _, k := range opts.Keys {
			if known[k] {
				continue
			}
			known[k] = true
			if e, ok := s.Read(k); ok {
				held++
				holders[k] = append(holders[k], copyOf{id, e})
			}
		}
		if st := s.Stats(); st.Keys+st.Tombstones > int64(held) {
			for _, e := range scanAll(s) {
				if !known[e.Key] {
					problems = append(problems, Problem{Unlisted, e.Key, id, fmt.Sprintf("key %q: on %s but not in the workload's keys: %s", e.Key, id, describe(e))})
				}
			}
		}
	}
	for _, m := range r.Members() {
		if stores[m.ID] == nil {
			problems = append(problems, Problem{NoStore, "", m.ID, fmt.Sprintf("member %s: no store to census", m.ID)})
		}
	}
	for _, k := range opts.Require {
		if _, ok := holders[k]; !ok {
			holders[k] = nil
		}
	}
	keys := make([]string, 0, len(holders))
	for k := range holders {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var idx []int
	for _, k := range keys {
		idx = r.Replicas(ring.KeyHash(k), opts.N, idx[:0])
		replicas := make([]string, len(idx))
		for i, j := range idx {
			replicas[i] = r.Member(j).ID
		}
		var best store.Entry
		for _, c := range holders[k] {
			if c.e.Version.Compare(best.Version) > 0 {
				best = c.e
			}
		}
		for _, id := range replicas {
			s := stores[id]
			if s == nil {
				continue
			}
			e, ok := s.Read(k)
			switch {
			case !ok:
				problems = append(problems, Problem{Missing, k, id, fmt.Sprintf("key %q: missing on replica %s (replicas %v, highest %s)", k, id, replicas, describe(best))})
			case e.Version != best.Version:
				problems = append(problems, Problem{Stale, k, id, fmt.Sprintf("key %q: replica %s holds %s, highest is %s (replicas %v)", k, id, describe(e), describe(best), replicas)})
			case e.Tombstone != best.Tombstone || !bytes.Equal(e.Value, best.Value):
				problems = append(problems, Problem{Diverged, k, id, fmt.Sprintf("key %q: replica %s holds %s, another copy of that version is %s", k, id, describe(e), describe(best))})
			}
		}
		for _, c := range holders[k] {
			if slices.Contains(replicas, c.node) || (c.e.Tombstone && opts.StrayTombstones) {
				continue
			}
			problems = append(problems, Problem{Stray, k, c.node, fmt.Sprintf("key %q: stray copy on %s, not a replica (replicas %v): %s", k, c.node, replicas, describe(c.e))})
		}
	}
	return problems
}

func describe(e store.Entry) string {
	if e.Version.Time == 0 {
		return "nothing"
	}
	if e.Tombstone {
		return fmt.Sprintf("tombstone@%v/%d", e.Version.Time, e.Version.Node)
	}
	return fmt.Sprintf("%q@%v/%d", e.Value, e.Version.Time, e.Version.Node)
}

// scanAll returns every entry of s, tombstones included.
func scanAll(s *store.Store) []store.Entry {
	var all []store.Entry
	var c store.Cursor
	for !c.Done {
		all, c = s.Scan(all, store.Range{}, c, 512)
	}
	return all
}
