package gridkv

import (
	"slices"
	"strings"
	"time"

	"github.com/gridkv/gridkv/ring"
	"github.com/gridkv/gridkv/swim"
)

// membershipLoop turns swim events into rings and quorum inputs until
// swim closes its event channel. The ring and the address table are
// updated before quorum hears of an event, so that what quorum starts for
// it (hint delivery, anti-entropy with a restarted member) can reach the
// member.
func (g *GridKV) membershipLoop() {
	defer close(g.loopDone)
	joined := g.sw.Joined()
	events := g.sw.Events()
	// Failed members leave the ring only after DeadMemberTimeout: a tick
	// notices when that time is up.
	tick := time.NewTicker(deadMemberCheck)
	defer tick.Stop()
	for {
		select {
		case <-joined:
			joined = nil
			g.rebuild()
		case <-tick.C:
			g.rebuild()
		case ev, ok := <-events:
			if !ok {
				return
			}
			g.log.Debug("gridkv: membership event", "type", ev.Type.String(), "member", ev.Member.ID)
			g.metrics.events.Inc()
			g.rebuild()
			switch ev.Type {
			case swim.EventJoin:
				g.q.SetAlive(ev.Member.ID, true)
			case swim.EventLeave, swim.EventFailed:
				g.q.SetAlive(ev.Member.ID, false)
			case swim.EventRestart:
				g.q.Restarted(ev.Member.ID)
			case swim.EventUpdate:
				g.q.SetAlive(ev.Member.ID, ev.Member.State == swim.StateAlive || ev.Member.State == swim.StateSuspect)
			case swim.EventResync:
				for _, m := range g.sw.Members() {
					if !m.Local {
						g.q.SetAlive(m.ID, m.State == swim.StateAlive || m.State == swim.StateSuspect)
					}
				}
			}
		}
	}
}

// rebuild builds the ring of the members with usable metadata (see
// ringMembers: failed members stay in it for DeadMemberTimeout) and
// swaps it in if its members or zones changed; it also refreshes the
// member ID → transport address table. No ring is built before swim has
// joined: quorum's Config.Join needs a first ring that lists the members
// holding the data, not this node alone (which would make it the only
// replica of everything, with nothing to pull).
func (g *GridKV) rebuild() {
	snap := g.sw.Snapshot()
	members, addrs := ringMembers(snap.Members, time.Now(), g.opts.DeadMemberTimeout)
	g.net.setAddrs(addrs)
	if old := g.ring.Load(); old != nil && slices.Equal(old.members, members) {
		return
	}
	if len(members) == 0 {
		return // only while the local member's own metadata is unknown
	}
	select {
	case <-g.sw.Joined():
	default:
		return // membershipLoop rebuilds once joined
	}
	if !g.useRing(members) {
		return
	}
	g.log.Info("gridkv: ring changed", "members", len(members))
	g.mu.Lock()
	close(g.changed)
	g.changed = make(chan struct{})
	g.mu.Unlock()
}

// rttInterval is how often measured RTTs are passed to the quorum engine.
const rttInterval = time.Second

func (g *GridKV) rttLoop() {
	defer close(g.rttDone)
	t := time.NewTicker(rttInterval)
	defer t.Stop()
	for {
		select {
		case <-g.stopRTT:
			return
		case <-t.C:
			for _, m := range g.sw.Members() {
				if !m.Local && m.RTT > 0 {
					g.q.SetRTT(m.ID, m.RTT)
				}
			}
		}
	}
}

// aliveIDs returns the IDs of the members of the ring in force.
func (g *GridKV) aliveIDs() []string {
	rv := g.ring.Load()
	if rv == nil {
		return []string{g.id}
	}
	ids := make([]string, len(rv.members))
	for i, m := range rv.members {
		ids[i] = m.ID
	}
	return ids
}

// deadMemberCheck is how often the ring is rebuilt to drop members that
// have been failed for longer than DeadMemberTimeout.
const deadMemberCheck = time.Second

// ringMembers returns the members that place keys, sorted by ID, and the
// transport address of each, and of the members that left gracefully (a
// leaving node serves its data until it has handed it off, see
// handOffBeforeClose). A member that failed stays in the ring until it
// has been failed for deadAfter (negative: forever): its replicas still
// count in N, so quorums never shrink because members are down, and writes
// it misses become hints. Only members that left gracefully, failed ones
// past deadAfter, and members without usable metadata are left out.
func ringMembers(all []swim.Member, now time.Time, deadAfter time.Duration) ([]ring.Member, map[string]string) {
	addrs := make(map[string]string, len(all))
	var members []ring.Member
	for _, m := range all {
		switch {
		case m.State == swim.StateLeft:
			// Off the ring, but still reachable while it hands its data
			// over (Close): the new replicas pull from it too.
			if usableMeta(m) {
				addrs[m.ID] = m.Meta.TransportAddr
			}
			continue
		case m.State == swim.StateFailed && deadAfter >= 0 && now.Sub(m.Since) >= deadAfter:
			continue
		case !usableMeta(m):
			continue
		}
		addrs[m.ID] = m.Meta.TransportAddr
		members = append(members, ring.Member{ID: m.ID, Zone: m.Meta.Zone})
	}
	slices.SortFunc(members, func(a, b ring.Member) int { return strings.Compare(a.ID, b.ID) })
	return members, addrs
}

// usableMeta reports whether m's metadata gives a transport address this
// node's protocol version can use.
func usableMeta(m swim.Member) bool {
	return m.MetaErr == nil && m.Meta.TransportAddr != "" && m.Meta.Protocol == protocolVersion
}

// useRing builds the ring of members with the node's options and swaps
// it in, for the quorum engine and the node; it logs and reports false if
// the ring cannot be built.
func (g *GridKV) useRing(members []ring.Member) bool {
	r, err := ring.New(members, ring.Config{Points: g.opts.VirtualNodes, MaxReplicas: max(ring.DefaultMaxReplicas, g.opts.ReplicaCount)})
	if err != nil {
		g.log.Error("gridkv: building ring", "err", err)
		return false
	}
	g.q.SetRing(r)
	g.ring.Store(&ringView{r: r, members: members})
	return true
}

// leaveHandoffLimit bounds how long Close waits for the quorum engine to
// hand this node's data over to the remaining members.
const leaveHandoffLimit = 20 * time.Second

// handOffBeforeClose, called by Close after the node left the membership,
// swaps in a ring without this node (if the membership loop has not
// already) and waits, up to leaveHandoffLimit, until the quorum engine has
// handed every range it held over to the ranges' new replicas (they hold
// each of its entries and finished their own pulls), or cannot for now
// (a replica does not answer: two rounds failed), so that a graceful
// leave takes no copy of an acknowledged write away before the remaining
// replicas hold it. Meanwhile the node keeps serving its peers' pulls and
// the writes of coordinators that still use the old ring.
func (g *GridKV) handOffBeforeClose() {
	rv := g.ring.Load()
	if rv == nil {
		return
	}
	others := slices.DeleteFunc(slices.Clone(rv.members), func(m ring.Member) bool { return m.ID == g.id })
	if len(others) == 0 {
		return // nobody to hand off to
	}
	if len(others) < len(rv.members) && !g.useRing(others) {
		return
	}
	deadline := time.Now().Add(leaveHandoffLimit)
	for {
		done, blocked := g.q.HandedOff()
		if done {
			return
		}
		if blocked {
			g.log.Warn("gridkv: closing before every range was handed off: replicas do not answer", "ranges", g.q.Stats().RangesHandingOff)
			return
		}
		if time.Now().After(deadline) {
			g.log.Warn("gridkv: closing before every range was handed off", "ranges", g.q.Stats().RangesHandingOff)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
