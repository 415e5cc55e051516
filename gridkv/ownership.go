package gridkv

import (
	"math"

	"github.com/gridkv/gridkv/ring"
)

// Ownership is a member's share of the keys in a ring.
type Ownership struct {
	// Primary is the fraction of the hash space (0 to 1) whose first
	// replica, the owner, is the member.
	Primary float64 `json:"primary"`
	// Replica is the fraction of the hash space of which the member holds
	// a replica (as owner or not). Over all members the shares add up to
	// min(ReplicaCount, members).
	Replica float64 `json:"replica"`
}

// Ownership returns the share of the keys of each member of the ring this
// node uses now, by member ID, or nil before the node has a ring. It walks
// the whole ring: it is for status pages, not for every request.
func (g *GridKV) Ownership() map[string]Ownership {
	rv := g.ring.Load()
	if rv == nil {
		return nil
	}
	out := make(map[string]Ownership, rv.r.Len())
	for _, m := range rv.r.Members() {
		out[m.ID] = Ownership{}
	}
	for _, c := range ring.Diff(nil, rv.r, g.opts.ReplicaCount) {
		w := rangeShare(c.Range)
		for i, id := range c.To {
			o := out[id]
			if i == 0 {
				o.Primary += w
			}
			o.Replica += w
			out[id] = o
		}
	}
	return out
}

// rangeShare is the fraction of the hash space that r covers.
func rangeShare(r ring.Range) float64 {
	n := r.End - r.Start // End 0 stands for 2^64: wraps to the right count
	if n == 0 {
		return 1 // [0, 0) is all of it
	}
	return float64(n) / math.Exp2(64)
}
