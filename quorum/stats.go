package quorum

import "sync/atomic"

// Stats is a snapshot of a Node's counters.
type Stats struct {
	Sets, Gets, Deletes uint64
	// QuorumFailures counts operations that failed with ErrQuorumNotMet.
	QuorumFailures uint64
	// Superseded counts write acknowledgements from replicas that already
	// held a newer version of the key (the write lost under LWW there).
	Superseded uint64
	// ReadRepairs counts entries sent to stale replicas by reads
	// (including linearizable write-backs).
	ReadRepairs uint64
	// StalledSkips counts reads that had a stalled replica (calls to it
	// unanswered for too long, see Config.StallAfter) and left it out of
	// the first ones they asked; StallHedges counts hedges sent before the
	// hedge delay because a replica a read waited for was stalled.
	StalledSkips uint64
	StallHedges  uint64

	// Hints and HintBytes are the hints held now; the others count
	// hints stored, delivered, dropped for lack of room, and expired.
	Hints          int
	HintBytes      int64
	HintsStored    uint64
	HintsDelivered uint64
	HintsDropped   uint64
	HintsExpired   uint64

	// AntiEntropyRounds counts finished exchanges with one peer;
	// AntiEntropyPushed and AntiEntropyPulled count the entries sent to
	// and taken from peers because digests differed.
	AntiEntropyRounds uint64
	AntiEntropyPushed uint64
	AntiEntropyPulled uint64

	// RangesReceiving is the number of ranges this node is still pulling
	// after ring changes; EntriesMoved counts entries received by those
	// pulls.
	RangesReceiving int
	EntriesMoved    uint64
	// RangesHandingOff is the number of ranges this node no longer
	// replicates after ring changes and still holds copies of (or may
	// still receive late writes for); EntriesHandedOff counts the local
	// copies it dropped once every new replica held them, and
	// EntriesHandoffPushed the entries it sent to new replicas that
	// lacked them.
	RangesHandingOff     int
	EntriesHandedOff     uint64
	EntriesHandoffPushed uint64
}

type stats struct {
	sets, gets, deletes, quorumFails, superseded, readRepairs atomic.Uint64
	aeRounds, aePushed, aePulled, moved                       atomic.Uint64
	handedOff, handoffPushed, stallSkips, stallHedges         atomic.Uint64
}

// Stats returns the Node's counters.
func (n *Node) Stats() Stats {
	s := Stats{
		Sets:                 n.st8.sets.Load(),
		Gets:                 n.st8.gets.Load(),
		Deletes:              n.st8.deletes.Load(),
		QuorumFailures:       n.st8.quorumFails.Load(),
		Superseded:           n.st8.superseded.Load(),
		ReadRepairs:          n.st8.readRepairs.Load(),
		StalledSkips:         n.st8.stallSkips.Load(),
		StallHedges:          n.st8.stallHedges.Load(),
		AntiEntropyRounds:    n.st8.aeRounds.Load(),
		AntiEntropyPushed:    n.st8.aePushed.Load(),
		AntiEntropyPulled:    n.st8.aePulled.Load(),
		EntriesMoved:         n.st8.moved.Load(),
		RangesReceiving:      n.moves.count(),
		RangesHandingOff:     n.hand.count(),
		EntriesHandedOff:     n.st8.handedOff.Load(),
		EntriesHandoffPushed: n.st8.handoffPushed.Load(),
	}
	n.hints.mu.Lock()
	s.Hints, s.HintBytes = n.hints.count, n.hints.bytes
	s.HintsStored, s.HintsDelivered = n.hints.stored, n.hints.delivered
	s.HintsDropped, s.HintsExpired = n.hints.dropped, n.hints.expired
	n.hints.mu.Unlock()
	return s
}
