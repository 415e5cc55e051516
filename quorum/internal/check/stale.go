package check

import (
	"fmt"
	"time"

	"github.com/gridkv/gridkv/store"
)

// KeyValue names one written value of one key.
type KeyValue struct{ Key, Value string }

// StaleReads checks the R + W > N contract of Quorum mode on a history of
// puts and gets (no deletes): a successful read returns a version at least
// as new as every acknowledged put of its key that returned before the
// read was called. versions gives the version each put was stamped with
// (for example decoded from the network). It describes each violation,
// and each read or acknowledged put whose version is unknown.
func StaleReads(ops []Op, versions map[KeyValue]store.Version) []string {
	type acked struct {
		ret time.Duration
		v   store.Version
		val string
	}
	var problems []string
	puts := make(map[string][]acked)
	for _, o := range ops {
		if o.Kind == Delete {
			return []string{fmt.Sprintf("check: StaleReads needs a history without deletes, got %v", o)}
		}
		if o.Kind != Put || o.Err != nil {
			continue
		}
		v, ok := versions[KeyValue{o.Key, o.Value}]
		if !ok {
			problems = append(problems, fmt.Sprintf("acknowledged %v: version unknown", o))
			continue
		}
		puts[o.Key] = append(puts[o.Key], acked{o.Return, v, o.Value})
	}
	for _, o := range ops {
		if o.Kind != Get || o.Err != nil {
			continue
		}
		var got store.Version
		if o.Found {
			v, ok := versions[KeyValue{o.Key, o.Out}]
			if !ok {
				problems = append(problems, fmt.Sprintf("%v: version of the value read unknown", o))
				continue
			}
			got = v
		}
		// The newest acknowledged put that returned before the read began.
		var newest acked
		for _, p := range puts[o.Key] {
			if p.ret < o.Call && p.v.Compare(newest.v) > 0 {
				newest = p
			}
		}
		if newest.v.Time != 0 && got.Compare(newest.v) < 0 {
			what := "not found"
			if o.Found {
				what = fmt.Sprintf("%q (version %v/%d)", o.Out, got.Time, got.Node)
			}
			problems = append(problems, fmt.Sprintf("%v: read %s, older than %q (version %v/%d) acknowledged at %v",
				o, what, newest.val, newest.v.Time, newest.v.Node, newest.ret))
		}
	}
	return problems
}
