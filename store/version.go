package store

import (
	"cmp"
	"fmt"

	"github.com/gridkv/gridkv/hlc"
)

// NodeID identifies the node that wrote a version. It only breaks ties between
// equal timestamps, so it must be unique per node and identical on every node
// for the same writer: derive it once (for example from the membership layer,
// or as a 32-bit hash of the node name, whose collisions only matter for two
// writes with the same timestamp) and keep it for the node's lifetime.
// It is 32 bits so that every stored entry stays small.
type NodeID uint32

// Version orders writes of one key: Time first, Node breaks ties. The zero
// Version (zero Time) means "no version" and is never stored.
type Version struct {
	Time hlc.Timestamp
	Node NodeID
}

// Compare returns -1 if v is older than o, +1 if newer and 0 if equal.
func (v Version) Compare(o Version) int {
	if c := cmp.Compare(v.Time, o.Time); c != 0 {
		return c
	}
	return cmp.Compare(v.Node, o.Node)
}

// Newer reports whether v wins over o under last-write-wins.
func (v Version) Newer(o Version) bool { return v.Compare(o) > 0 }

// IsZero reports whether v is the zero Version (no timestamp).
func (v Version) IsZero() bool { return v.Time.IsZero() }

// String formats v as wallMillis.logical@node.
func (v Version) String() string {
	return fmt.Sprintf("%d.%d@%d", v.Time.WallTime(), v.Time.Logical(), v.Node)
}
