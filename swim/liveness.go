package swim

import (
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Failure hold.
//
// memberlist declares a member dead when it has not answered probes and
// has not refuted the suspicion in time. A member that is slow (a long GC
// pause, an overloaded host) answers too late but is not gone, and it
// keeps sending: its own probes, its late acks, its refutations. The
// local member records when it last received a packet from each address;
// when memberlist declares a member dead that was heard from within the
// last lifeWindow, EventFailed is held (the member shows as StateSuspect)
// until it refutes (no event at all), falls silent for lifeWindow, or
// Config.FailureHold passes. A crashed, hung or partitioned member sends
// nothing, so its failure is reported at once: memberlist needs longer
// than lifeWindow to declare it dead. Silence is measured from the end of
// the last local stall if that is later (see stall.go): after one, a
// member must have been silent for lifeWindow since the local member ran
// again, so a member that crashed during the stall is reported at most
// about lifeWindow plus a re-check (lifeWindow/2) later. While a failure
// is held, the local member pushes/pulls state with the member once (and
// again after each local stall), so that a member that missed the gossip
// about its death learns of it and refutes.

// lifeWindowProbes is lifeWindow in probe intervals: shorter than the
// fastest detection (probe interval plus suspicion timeout, 7 intervals
// with PresetFast), longer than the gaps between packets of a live
// member in a small cluster.
const lifeWindowProbes = 3

// heard records the last packet received from each address. Anyone can
// send a packet, so the table is bounded: when full, entries older than a
// minute are dropped, and new addresses are not recorded until there is
// room.
type heard struct {
	mu   sync.Mutex
	last map[string]time.Time
	max  int
}

func (h *heard) mark(addr string, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.last[addr]; !ok && len(h.last) >= h.max {
		for a, t := range h.last {
			if at.Sub(t) > time.Minute {
				delete(h.last, a)
			}
		}
		if len(h.last) >= h.max {
			return
		}
	}
	h.last[addr] = at
}

func (h *heard) since(addr string) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.last[addr]
	return t, ok
}

// listeningTransport wraps a transport to record packet sources. One
// goroutine forwards packets; it stops on Shutdown.
type listeningTransport struct {
	memberlist.NodeAwareTransport
	heard   *heard
	packets chan *memberlist.Packet
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

func newListeningTransport(t memberlist.NodeAwareTransport, h *heard) *listeningTransport {
	lt := &listeningTransport{
		NodeAwareTransport: t,
		heard:              h,
		packets:            make(chan *memberlist.Packet),
		done:               make(chan struct{}),
		stopped:            make(chan struct{}),
	}
	go lt.forward()
	return lt
}

func (lt *listeningTransport) forward() {
	defer close(lt.stopped)
	in := lt.NodeAwareTransport.PacketCh()
	for {
		select {
		case p := <-in:
			if p.From != nil {
				at := p.Timestamp
				if at.IsZero() {
					at = time.Now()
				}
				lt.heard.mark(p.From.String(), at)
			}
			select {
			case lt.packets <- p:
			case <-lt.done:
				return
			}
		case <-lt.done:
			return
		}
	}
}

func (lt *listeningTransport) PacketCh() <-chan *memberlist.Packet { return lt.packets }

func (lt *listeningTransport) Shutdown() error {
	err := lt.NodeAwareTransport.Shutdown()
	lt.once.Do(func() { close(lt.done) })
	<-lt.stopped
	return err
}

// holdFailure decides, with n.mu held, whether a failure reported by
// memberlist is held. It arms the re-check timer.
func (n *Node) holdFailure(p *peer, failed Member, now time.Time) bool {
	if n.cfg.FailureHold <= 0 || failed.Local || n.closed {
		return false
	}
	if !n.recentlyHeard(failed.Addr, now) {
		return false
	}
	if !p.held {
		p.held = true
		p.heldSince = now
	}
	p.heldAs = failed
	n.armHold(p, failed.ID)
	return true
}

func (n *Node) armHold(p *peer, id string) {
	if p.holdTimer != nil {
		p.holdTimer.Stop()
	}
	p.holdTimer = time.AfterFunc(n.lifeWindow/2, func() { n.recheckHold(id) })
}

// recentlyHeard reports whether a member was heard from within the last
// lifeWindow, not counting time during which the local member itself was
// stalled: its silence is measured from the later of its last packet and
// the end of the last local stall (see stall.go). Within lifeWindow
// after a stall this holds even for a member never heard from at its
// address (it may simply not have sent to us yet).
func (n *Node) recentlyHeard(addr string, now time.Time) bool {
	last, _ := n.heard.since(addr) // zero if never heard
	if r := n.stall.resumedAt(now); !r.IsZero() && now.Sub(r) < n.lifeWindow {
		return true
	}
	return !last.IsZero() && now.Sub(last) < n.lifeWindow
}

// recheckHold reports a held failure once the member fell silent or the
// hold ran out.
func (n *Node) recheckHold(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, ok := n.peers[id]
	if !ok || !p.held || n.closed {
		return
	}
	now := time.Now()
	if n.recentlyHeard(p.heldAs.Addr, now) && now.Sub(p.heldSince) < n.cfg.FailureHold {
		// Not refuted yet: it may not know it was declared dead (the
		// dead broadcast was not gossiped to it). A push/pull tells it,
		// and it refutes at once. Once per hold, and once more after
		// each local stall; never during one.
		if r, stalled := n.stall.resumed(now); !stalled && (p.syncedAt.IsZero() || p.syncedAt.Before(r)) {
			p.syncedAt = now
			n.syncWith(p.heldAs.Addr)
		}
		n.armHold(p, id)
		return
	}
	m := p.heldAs
	m.Since = now
	n.releaseHold(p)
	prev := p.m
	p.m = m
	n.emit(EventFailed, m, prev.Meta)
}

// syncWith pushes/pulls state with addr in the background. Caller holds
// n.mu and checked that n is not closed.
func (n *Node) syncWith(addr string) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if _, err := n.ml.Join([]string{addr}); err != nil {
			n.cfg.Logger.Debug("swim: sync with held member", "addr", addr, "err", err)
		}
	}()
}

// releaseHold clears a hold. Caller holds n.mu.
func (n *Node) releaseHold(p *peer) {
	if p.holdTimer != nil {
		p.holdTimer.Stop()
		p.holdTimer = nil
	}
	p.held = false
	p.syncedAt = time.Time{}
	p.heldAs = Member{}
}
