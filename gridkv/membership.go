package gridkv

import (
	"slices"
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
	for {
		select {
		case <-joined:
			joined = nil
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

// rebuild builds the ring of the alive members with usable metadata and
// swaps it in if its members or zones changed; it also refreshes the
// member ID → transport address table. No ring is built before swim has
// joined: quorum's Config.Join needs a first ring that lists the members
// holding the data, not this node alone (which would make it the only
// replica of everything, with nothing to pull).
func (g *GridKV) rebuild() {
	snap := g.sw.Snapshot()
	addrs := make(map[string]string, len(snap.Members))
	var members []ring.Member
	for _, m := range snap.Alive() {
		if m.MetaErr != nil || m.Meta.TransportAddr == "" || m.Meta.Protocol != protocolVersion {
			continue
		}
		addrs[m.ID] = m.Meta.TransportAddr
		members = append(members, ring.Member{ID: m.ID, Zone: m.Meta.Zone})
	}
	g.net.setAddrs(addrs)
	slices.SortFunc(members, func(a, b ring.Member) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
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
	r, err := ring.New(members, ring.Config{Points: g.opts.VirtualNodes, MaxReplicas: max(ring.DefaultMaxReplicas, g.opts.ReplicaCount)})
	if err != nil {
		g.log.Error("gridkv: building ring", "err", err)
		return
	}
	g.q.SetRing(r)
	g.ring.Store(&ringView{r: r, members: members})
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
