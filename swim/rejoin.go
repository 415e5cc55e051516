package swim

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"time"
)

// joinLoop joins through the seeds until joined, then keeps re-joining
// seeds and remembered members that are not alive. memberlist forgets dead
// members after GossipToTheDeadTime, and two halves partitioned for longer
// never talk again by themselves; a push/pull with any member of the other
// half merges them (the first round makes both sides refute their death,
// the next carries the higher incarnations across).
func (n *Node) joinLoop() {
	defer n.wg.Done()
	rng := rand.New(rand.NewPCG(n.cfg.Meta.BootID, uint64(time.Now().UnixNano())))
	var delay time.Duration
	for {
		if delay > 0 {
			// ±20% jitter so members do not re-join in lockstep.
			d := delay*8/10 + time.Duration(rng.Int64N(int64(delay)*4/10+1))
			t := time.NewTimer(d)
			select {
			case <-n.stop:
				t.Stop()
				return
			case <-t.C:
			}
		}
		if n.isJoined() {
			if n.announcing() {
				n.announce(rng)
			} else {
				n.rejoinRound(rng)
			}
			if n.cfg.RejoinInterval < 0 && !n.announcing() {
				return
			}
			delay = n.cfg.RejoinInterval
		} else {
			n.joinRound(rng)
			delay = n.cfg.JoinRetryInterval
			if n.isJoined() {
				delay = n.cfg.RejoinInterval
				if delay < 0 && !n.announcing() {
					return
				}
			}
		}
		if n.announcing() {
			delay = min(n.cfg.JoinRetryInterval, announceInterval)
		}
	}
}

func (n *Node) isJoined() bool {
	select {
	case <-n.joined:
		return true
	default:
	}
	n.mu.Lock()
	alive := 0
	for _, p := range n.peers {
		if p.m.State == StateAlive && !p.m.Local {
			alive++
		}
	}
	n.mu.Unlock()
	if alive > 0 { // someone joined us
		n.markJoined()
		return true
	}
	return false
}

func (n *Node) stopped() bool {
	select {
	case <-n.stop:
		return true
	default:
		return false
	}
}

// joinRound tries the seeds, in random order, until one answers.
func (n *Node) joinRound(rng *rand.Rand) {
	if len(n.cfg.Seeds) == 0 {
		n.markJoined()
		return
	}
	seeds, onlySelf := n.resolveSeeds()
	if onlySelf {
		// The seeds name only this member: it is the first one up.
		// Later rounds still re-join the seeds, which merges clusters
		// that bootstrapped apart.
		n.markJoined()
		return
	}
	rng.Shuffle(len(seeds), func(i, j int) { seeds[i], seeds[j] = seeds[j], seeds[i] })
	for _, s := range seeds {
		if n.stopped() {
			return
		}
		if k, err := n.ml.Join([]string{s}); err == nil && k > 0 {
			n.markJoined()
			return
		} else if err != nil {
			n.cfg.Logger.Debug("swim: join", "seed", s, "err", err)
		}
	}
}

// announcePeriod is how long after a conflict about its own ID a member
// keeps announcing itself.
const announcePeriod = 10 * time.Second

// announceInterval is the pause between announcements (at most
// JoinRetryInterval).
const announceInterval = 500 * time.Millisecond

func (n *Node) announcing() bool {
	return time.Now().UnixNano() < n.announceUntil.Load()
}

// announce pushes/pulls state with one random alive member (or a seed).
// memberlist accepts a member's new address only once the old one was
// declared dead (and DeadNodeReclaimTime passed); until then it rejects
// it as a conflict and would wait for the next periodic push/pull (15 s or
// more). So for announcePeriod after a conflict about its own ID, the join
// loop announces every announceInterval.
func (n *Node) announce(rng *rand.Rand) {
	var targets []string
	n.mu.Lock()
	for _, p := range n.peers {
		if p.m.State == StateAlive && !p.m.Local {
			targets = append(targets, p.m.Addr)
		}
	}
	n.mu.Unlock()
	if len(targets) == 0 && len(n.cfg.Seeds) > 0 {
		targets, _ = n.resolveSeeds()
	}
	if len(targets) == 0 {
		return
	}
	t := targets[rng.IntN(len(targets))]
	if _, err := n.ml.Join([]string{t}); err != nil {
		n.cfg.Logger.Debug("swim: announce", "addr", t, "err", err)
	}
}

// rejoinRound pushes/pulls state with up to RejoinFanout addresses that
// are not alive members: seeds and remembered failed members.
func (n *Node) rejoinRound(rng *rand.Rand) {
	var seeds []string
	if len(n.cfg.Seeds) > 0 {
		seeds, _ = n.resolveSeeds()
	}
	now := time.Now()
	alive := make(map[string]bool)
	var targets []string
	n.mu.Lock()
	for _, p := range n.peers {
		if p.m.State == StateAlive {
			alive[p.m.Addr] = true
		}
	}
	for _, p := range n.peers {
		if p.m.State == StateFailed && !alive[p.m.Addr] && now.Sub(p.m.Since) < n.cfg.ForgetFailedAfter {
			targets = append(targets, p.m.Addr)
		}
	}
	n.mu.Unlock()
	for _, s := range seeds {
		if !alive[s] {
			targets = append(targets, s)
		}
	}
	if len(targets) == 0 {
		return
	}
	rng.Shuffle(len(targets), func(i, j int) { targets[i], targets[j] = targets[j], targets[i] })
	seen := make(map[string]bool)
	tried := 0
	for _, t := range targets {
		if tried == n.cfg.RejoinFanout || n.stopped() {
			return
		}
		if seen[t] {
			continue
		}
		seen[t] = true
		tried++
		if _, err := n.ml.Join([]string{t}); err != nil {
			n.cfg.Logger.Debug("swim: re-join", "addr", t, "err", err)
		}
	}
}

// resolveSeeds returns the seed addresses as ip:port, without the local
// member's own address; onlySelf reports that every seed resolved and all
// of them named this member.
func (n *Node) resolveSeeds() (addrs []string, onlySelf bool) {
	self, _ := netip.ParseAddrPort(n.self)
	sawSelf, failed := false, false
	for _, s := range n.cfg.Seeds {
		host, port, err := splitHostPort(s)
		if err != nil {
			continue // validated in Start
		}
		var ips []string
		if _, perr := netip.ParseAddr(host); perr == nil {
			ips = []string{host}
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			ips, err = n.cfg.Resolver.LookupHost(ctx, host)
			cancel()
			if err != nil {
				failed = true
				n.cfg.Logger.Debug("swim: resolve seed", "seed", s, "err", err)
				continue
			}
		}
		for _, ip := range ips {
			a, err := netip.ParseAddr(ip)
			if err != nil {
				continue
			}
			ap := netip.AddrPortFrom(a.Unmap(), uint16(port))
			if ap == self || n.selfBindMatches(ap) {
				sawSelf = true
				continue
			}
			addrs = append(addrs, ap.String())
		}
	}
	return addrs, len(addrs) == 0 && sawSelf && !failed
}

// selfBindMatches reports whether ap is the explicit bind address.
func (n *Node) selfBindMatches(ap netip.AddrPort) bool {
	if n.cfg.Transport != nil {
		return false
	}
	b, err := netip.ParseAddrPort(n.cfg.BindAddr)
	return err == nil && b == ap
}
