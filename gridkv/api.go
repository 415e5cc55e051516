package gridkv

import (
	"fmt"
	"time"
)

// Consistency says how many replicas an operation waits for.
type Consistency uint8

const (
	// One waits for a single replica. A read on a node that holds a
	// replica is served from its own memory, with no network.
	One Consistency = iota + 1
	// Quorum waits for Options.WriteQuorum replicas on writes and
	// Options.ReadQuorum on reads (the default).
	Quorum
	// All waits for every replica of the key.
	All
	// Linearizable makes single-key reads and writes linearizable
	// (quorum reads that write back before returning, writes that first
	// read the highest version from a quorum).
	Linearizable
)

func (c Consistency) String() string {
	switch c {
	case One:
		return "one"
	case Quorum:
		return "quorum"
	case All:
		return "all"
	case Linearizable:
		return "linearizable"
	}
	return fmt.Sprintf("Consistency(%d)", uint8(c))
}

// ParseConsistency reads the String form of a Consistency.
func ParseConsistency(s string) (Consistency, error) {
	for c := One; c <= Linearizable; c++ {
		if c.String() == s {
			return c, nil
		}
	}
	return 0, fmt.Errorf("gridkv: unknown consistency %q (want one, quorum, all or linearizable)", s)
}

// Option changes one operation. Options are plain values: passing them
// costs no allocation.
type Option struct {
	kind        uint8
	ttl         time.Duration
	consistency Consistency
}

const (
	optTTL uint8 = iota + 1
	optConsistency
)

type opConfig struct {
	ttl         time.Duration
	consistency Consistency
}

// apply sets what o sets in c.
func (o Option) apply(c *opConfig) {
	switch o.kind {
	case optTTL:
		c.ttl = o.ttl
	case optConsistency:
		c.consistency = o.consistency
	}
}

// WithTTL makes a written value expire after d (rounded to milliseconds;
// zero or negative means no expiry). Every replica expires it at the same
// absolute time.
func WithTTL(d time.Duration) Option { return Option{kind: optTTL, ttl: d} }

// WithConsistency sets the consistency of one operation.
func WithConsistency(c Consistency) Option { return Option{kind: optConsistency, consistency: c} }

// Item is a value with its expiry.
type Item struct {
	Key   string
	Value []byte
	// ExpiresAt is when the value expires; zero means never.
	ExpiresAt time.Time
}

// TTL returns how long the value has left (at least 1 ms while it
// lives), and 0 if it never expires.
func (it Item) TTL() time.Duration {
	if it.ExpiresAt.IsZero() {
		return 0
	}
	return max(time.Until(it.ExpiresAt), time.Millisecond)
}

// KV is a key and a value, for MSet.
type KV struct {
	Key   string
	Value []byte
}

// Member is one node of the cluster as the local node sees it.
type Member struct {
	ID            string        `json:"id"`
	GossipAddr    string        `json:"gossipAddr"`
	TransportAddr string        `json:"transportAddr"`
	Zone          string        `json:"zone"`
	State         string        `json:"state"` // alive, suspect, failed, left
	RTT           time.Duration `json:"rttNanos"`
	Local         bool          `json:"local"`
	BootID        uint64        `json:"bootId"`
}

// Stats is a snapshot of a node's counters.
type Stats struct {
	NodeID       string `json:"nodeId"`
	Members      int    `json:"members"`      // known members, any state
	AliveMembers int    `json:"aliveMembers"` // alive or suspect, the ring
	RingMembers  int    `json:"ringMembers"`
	ReplicaCount int    `json:"replicaCount"`
	WriteQuorum  int    `json:"writeQuorum"`
	ReadQuorum   int    `json:"readQuorum"`
	// Local store.
	Keys       int64  `json:"keys"`
	Tombstones int64  `json:"tombstones"`
	Bytes      int64  `json:"bytes"`
	MaxBytes   int64  `json:"maxBytes"`
	Evictions  uint64 `json:"evictions"`
	// HintsPending counts writes waiting for a replica that missed them.
	HintsPending int `json:"hintsPending"`
	// RangesReceiving counts the hash ranges this node is still pulling
	// from the other replicas (after it started, or after a membership
	// change gave it new ranges). Its answers for keys of those ranges do
	// not count toward read quorums meanwhile.
	RangesReceiving int `json:"rangesReceiving"`
}

// OptionValues returns the TTL and consistency that opts set (zero when
// they set none), for other implementations of interfaces that take
// Options, such as test doubles.
func OptionValues(opts ...Option) (ttl time.Duration, c Consistency) {
	var o opConfig
	for _, op := range opts {
		op.apply(&o)
	}
	return o.ttl, o.consistency
}
