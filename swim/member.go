package swim

import (
	"strconv"
	"time"
)

// State is a member's state as seen by the local member.
type State uint8

const (
	// StateAlive: the member answers probes.
	StateAlive State = iota + 1
	// StateSuspect: memberlist still counts the member alive, but the
	// local member's own probes of it have gone unanswered for more than
	// two probe rounds. It is a hint for routing (prefer other replicas);
	// memberlist keeps its own suspicion state private, so this is the
	// local evidence, not the cluster's verdict, and no event marks it.
	StateSuspect
	// StateFailed: the failure detector declared the member dead.
	StateFailed
	// StateLeft: the member left gracefully.
	StateLeft
)

func (s State) String() string {
	switch s {
	case StateAlive:
		return "alive"
	case StateSuspect:
		return "suspect"
	case StateFailed:
		return "failed"
	case StateLeft:
		return "left"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// Distance classifies a peer by its smoothed RTT.
type Distance uint8

const (
	// DistanceUnknown: no probe of the peer was acknowledged yet.
	DistanceUnknown Distance = iota
	// DistanceLAN: smoothed RTT below Config.LANThreshold.
	DistanceLAN
	// DistanceWAN: smoothed RTT at or above Config.LANThreshold.
	DistanceWAN
)

func (d Distance) String() string {
	switch d {
	case DistanceLAN:
		return "lan"
	case DistanceWAN:
		return "wan"
	}
	return "unknown"
}

// Member is an immutable copy of what the local member knows about one
// member of the cluster (itself included).
type Member struct {
	// ID is the member's Config.NodeID.
	ID string
	// Addr is the member's gossip address (host:port).
	Addr string
	// Meta is the decoded metadata; zero if MetaErr is set.
	Meta Meta
	// MetaErr is set when the member's metadata did not decode (another
	// version, or garbage). Such a member should not be given data.
	MetaErr error
	// State is the member's state.
	State State
	// Local is true for the local member.
	Local bool
	// RTT is the smoothed (EWMA) round-trip time of the local member's
	// probes of this member; zero when unknown or Local.
	RTT time.Duration
	// Distance classifies RTT against Config.LANThreshold. The local
	// member is DistanceLAN.
	Distance Distance
	// Since is when State last changed between alive, failed and left.
	Since time.Time
}

// Snapshot is a consistent view of the membership: Members reflects
// exactly the events with a sequence number up to Seq.
type Snapshot struct {
	// Seq is the sequence number of the last event applied.
	Seq uint64
	// Members, sorted by ID, including failed and left members that are
	// still remembered.
	Members []Member
}

// Alive returns the members of s that are alive or suspect.
func (s Snapshot) Alive() []Member {
	var out []Member
	for _, m := range s.Members {
		if m.State == StateAlive || m.State == StateSuspect {
			out = append(out, m)
		}
	}
	return out
}
