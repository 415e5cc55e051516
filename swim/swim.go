package swim

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Node is one running member of a cluster. Its methods are safe for
// concurrent use.
type Node struct {
	cfg           Config
	ml            *memberlist.Memberlist
	keyring       *memberlist.Keyring
	probeInterval time.Duration
	self          string // advertised gossip address, host:port
	heard         *heard
	lifeWindow    time.Duration
	stall         *stallDetector // nil when disabled

	mu      sync.Mutex
	peers   map[string]*peer
	seq     uint64
	meta    Meta
	encoded []byte
	closed  bool

	// announceUntil (unix nanoseconds) is set when others still hold
	// this ID at an old address (a restart on a new address); see
	// announce.
	announceUntil atomic.Int64

	queue      *eventQueue
	events     chan Event
	stop       chan struct{}
	joined     chan struct{}
	joinedOnce sync.Once
	wg         sync.WaitGroup
	closeOnce  sync.Once
}

// peer is the local record of one member.
type peer struct {
	m       Member    // RTT, Distance and suspect are derived at read time
	lastAck time.Time // last acknowledged probe, or when it became alive
	rtt     time.Duration
	leaving bool // published its leave intent

	// A failure held while the member still sends (see liveness.go).
	held      bool
	heldSince time.Time
	heldAs    Member
	holdTimer *time.Timer
	syncedAt  time.Time // last push/pull with it during this hold
}

// Start creates a member and returns at once; joining the seeds happens in
// the background and is retried until it succeeds (see Joined), so nodes
// can start in any order. Close stops it.
func Start(cfg *Config) (*Node, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	mc, err := c.Preset.memberlistConfig()
	if err != nil {
		return nil, err
	}
	mc.Name = c.NodeID
	mlLogger := newMemberlistLogger(c.Logger.With("swim_node", c.NodeID))
	var advHost string
	var advPort int
	if c.AdvertiseAddr != "" {
		advHost, advPort, err = splitHostPort(c.AdvertiseAddr)
		if err != nil {
			return nil, fmt.Errorf("%w: AdvertiseAddr %q: %w", ErrConfig, c.AdvertiseAddr, err)
		}
	}
	inner := c.Transport
	if inner == nil {
		host, port, err := splitHostPort(c.BindAddr)
		if err != nil {
			return nil, fmt.Errorf("%w: BindAddr %q: %w", ErrConfig, c.BindAddr, err)
		}
		nt, err := listen(host, port, mlLogger)
		if err != nil {
			return nil, fmt.Errorf("swim: listen on %s: %w", c.BindAddr, err)
		}
		inner = nt
		mc.BindAddr, mc.BindPort = host, nt.GetAutoBindPort()
	}
	mc.AdvertiseAddr, mc.AdvertisePort = advHost, advPort
	mc.Logger = mlLogger
	mc.LogOutput = nil
	if len(c.SecretKeys) > 0 {
		kr, err := memberlist.NewKeyring(c.SecretKeys, c.SecretKeys[0])
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		mc.Keyring = kr
	}
	if c.Meta.BootID == 0 {
		c.Meta.BootID = newBootID()
	}
	if len(c.Meta.App) > 0 {
		c.Meta.App = slices.Clone(c.Meta.App)
	}
	encoded, err := c.Meta.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	n := &Node{
		cfg:     c,
		keyring: mc.Keyring,
		peers:   make(map[string]*peer),
		meta:    c.Meta,
		encoded: encoded,
		queue:   newEventQueue(c.EventQueueSize),
		events:  make(chan Event),
		stop:    make(chan struct{}),
		joined:  make(chan struct{}),
	}
	d := &delegate{n: n}
	mc.Delegate = d
	mc.Events = d
	mc.Ping = d
	mc.Conflict = d
	if c.Tune != nil {
		c.Tune(mc)
	}
	n.probeInterval = mc.ProbeInterval
	n.lifeWindow = lifeWindowProbes * mc.ProbeInterval
	n.heard = &heard{last: make(map[string]time.Time), max: 4 * c.MaxRemembered}
	n.stall = n.newStall()
	lt := newListeningTransport(inner, n.heard)
	mc.Transport = lt
	ml, err := memberlist.Create(mc)
	if err != nil {
		_ = lt.Shutdown()
		return nil, fmt.Errorf("swim: start memberlist: %w", err)
	}
	n.ml = ml
	n.self = ml.LocalNode().Address()
	n.wg.Add(2)
	go n.dispatch()
	go n.joinLoop()
	n.runStall()
	return n, nil
}

func newBootID() uint64 {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		if id := binary.LittleEndian.Uint64(b[:]); id != 0 {
			return id
		}
	}
}

// ID returns the local member's NodeID.
func (n *Node) ID() string { return n.cfg.NodeID }

// Addr returns the local member's advertised gossip address (host:port).
func (n *Node) Addr() string { return n.self }

// Meta returns the local member's current metadata, BootID included.
func (n *Node) Meta() Meta {
	n.mu.Lock()
	defer n.mu.Unlock()
	m := n.meta
	m.App = slices.Clone(m.App)
	m.leaving = false
	return m
}

// Events returns the channel of membership events, in order. It is closed
// by Close. Events are queued (see Config.EventQueueSize) so a slow
// consumer never stalls the failure detector; a consumer that falls too
// far behind receives EventResync.
func (n *Node) Events() <-chan Event { return n.events }

// Joined is closed once the member has joined another member, or found
// itself alone with no seeds (the first node of a new cluster).
func (n *Node) Joined() <-chan struct{} { return n.joined }

// Snapshot returns a consistent copy of the membership.
func (n *Node) Snapshot() Snapshot {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := time.Now()
	alive := 0
	for _, p := range n.peers {
		if p.m.State == StateAlive {
			alive++
		}
	}
	// memberlist probes each peer once per round of (alive-1) probe
	// intervals in a reshuffled order, so two rounds without an ack mean
	// probes failed.
	suspectAfter := n.probeInterval * time.Duration(2*max(alive-1, 1)+1)
	s := Snapshot{Seq: n.seq, Members: make([]Member, 0, len(n.peers))}
	for _, p := range n.peers {
		m := n.derive(p)
		if m.State == StateAlive && !m.Local && (p.held || now.Sub(p.lastAck) > suspectAfter) {
			m.State = StateSuspect
		}
		s.Members = append(s.Members, m)
	}
	slices.SortFunc(s.Members, func(a, b Member) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return s
}

// Members returns Snapshot().Members.
func (n *Node) Members() []Member { return n.Snapshot().Members }

// Member returns what is known about one member.
func (n *Node) Member(id string) (Member, bool) {
	for _, m := range n.Members() {
		if m.ID == id {
			return m, true
		}
	}
	return Member{}, false
}

// RTT returns the smoothed round-trip time to a member, and false if no
// probe of it was acknowledged yet.
func (n *Node) RTT(id string) (time.Duration, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, ok := n.peers[id]
	if !ok || p.rtt == 0 {
		return 0, false
	}
	return p.rtt, true
}

// derive fills in the read-time fields. Caller holds n.mu.
func (n *Node) derive(p *peer) Member {
	m := p.m
	m.Meta.App = slices.Clone(m.Meta.App)
	switch {
	case m.Local:
		m.Distance = DistanceLAN
	case p.rtt == 0:
		m.Distance = DistanceUnknown
	case p.rtt < n.cfg.LANThreshold:
		m.RTT, m.Distance = p.rtt, DistanceLAN
	default:
		m.RTT, m.Distance = p.rtt, DistanceWAN
	}
	return m
}

// UpdateMeta publishes new metadata (BootID is kept) and waits, until ctx
// ends (or LeaveTimeout without a deadline), for the broadcast to be sent.
// Other members see EventUpdate. The new metadata is in effect even when
// the wait times out: gossip carries it on.
func (n *Node) UpdateMeta(ctx context.Context, m Meta) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return ErrClosed
	}
	m.BootID = n.meta.BootID
	m.App = slices.Clone(m.App)
	b, err := m.MarshalBinary()
	if err != nil {
		n.mu.Unlock()
		return err
	}
	n.meta, n.encoded = m, b
	n.mu.Unlock()
	timeout := n.cfg.LeaveTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if err := n.ml.UpdateNode(timeout); err != nil {
		return fmt.Errorf("swim: update meta: %w", err)
	}
	return nil
}

// Close leaves the cluster gracefully (others see EventLeave at once, not
// a failure), then stops every goroutine and closes the Events channel.
// Pending events are discarded. Close is idempotent.
func (n *Node) Close() error {
	return n.shutdown(true)
}

// shutdown stops the member; without leave it behaves like a crash.
func (n *Node) shutdown(leave bool) error {
	var err error
	n.closeOnce.Do(func() {
		n.mu.Lock()
		n.closed = true
		for _, p := range n.peers {
			if p.holdTimer != nil {
				p.holdTimer.Stop()
			}
		}
		n.mu.Unlock()
		if leave {
			n.leave()
		}
		close(n.stop)
		if serr := n.ml.Shutdown(); serr != nil {
			err = fmt.Errorf("swim: shutdown: %w", serr)
		}
		n.wg.Wait()
	})
	return err
}

// leave publishes the leave intent (see flagLeaving), waits for it to be
// gossiped, then has memberlist broadcast the leave itself.
func (n *Node) leave() {
	n.mu.Lock()
	n.meta.leaving = true
	b, err := n.meta.MarshalBinary()
	if err == nil {
		n.encoded = b
	}
	n.mu.Unlock()
	half := n.cfg.LeaveTimeout / 2
	if err := n.ml.UpdateNode(half); err != nil {
		n.cfg.Logger.Debug("swim: publish leave intent", "err", err)
	}
	if err := n.ml.Leave(n.cfg.LeaveTimeout - half); err != nil {
		n.cfg.Logger.Warn("swim: leave", "err", err)
	}
}

// dispatch moves events from the queue to the channel.
func (n *Node) dispatch() {
	defer n.wg.Done()
	defer close(n.events)
	for {
		e, ok := n.queue.pop()
		if !ok {
			select {
			case <-n.queue.signal:
				continue
			case <-n.stop:
				return
			}
		}
		select {
		case n.events <- e:
		case <-n.stop:
			return
		}
	}
}

// emit records an event. Caller holds n.mu.
func (n *Node) emit(t EventType, m Member, prev Meta) {
	n.seq++
	n.queue.push(Event{Type: t, Seq: n.seq, Member: m, PrevMeta: prev})
}

// observe applies a memberlist notification. It runs on memberlist's
// goroutines with memberlist's node lock held: it must not block or call
// back into memberlist.
func (n *Node) observe(node *memberlist.Node, kind EventType) {
	now := time.Now()
	m := Member{
		ID:    node.Name,
		Addr:  net.JoinHostPort(node.Addr.String(), strconv.Itoa(int(node.Port))),
		Local: node.Name == n.cfg.NodeID,
	}
	m.Meta, m.MetaErr = DecodeMeta(node.Meta)
	if m.MetaErr != nil {
		m.Meta = Meta{}
	}
	leaving := m.Meta.leaving
	m.Meta.leaving = false
	n.mu.Lock()
	defer n.mu.Unlock()
	p, known := n.peers[m.ID]
	var prev Member
	if known {
		prev = p.m
	} else {
		p = &peer{}
		n.peers[m.ID] = p
		n.evict()
	}
	restarted := known && !m.Local && m.MetaErr == nil && prev.MetaErr == nil &&
		prev.Meta.BootID != 0 && prev.Meta.BootID != m.Meta.BootID
	if p.held {
		// memberlist declared it dead; we held the failure back.
		switch {
		case kind == EventLeave && !(leaving || p.leaving):
			if n.holdFailure(p, withState(m, StateFailed), now) {
				return
			}
		case kind == EventLeave:
		case restarted:
		case sameMember(prev, m):
			// It refuted: nothing happened as far as the
			// application is concerned.
			n.releaseHold(p)
			p.leaving = leaving
			return
		default:
			kind = EventUpdate
		}
		n.releaseHold(p)
	}
	switch kind {
	case EventJoin, EventUpdate:
		m.State = StateAlive
		m.Since = prev.Since
		if !known || prev.State != StateAlive {
			m.Since = now
			p.lastAck = now
		}
		switch {
		case restarted:
			kind = EventRestart
			p.rtt = 0
		case kind == EventUpdate && prev.State != StateAlive:
			kind = EventJoin
		case kind == EventUpdate && leaving && !p.leaving && sameMember(prev, m):
			// Only the leave intent changed: record it, no event.
			p.leaving = true
			p.m = m
			return
		}
		p.leaving = leaving
	case EventLeave:
		m.State, kind = StateFailed, EventFailed
		if leaving || p.leaving {
			m.State, kind = StateLeft, EventLeave
		}
		if m.MetaErr != nil && known {
			m.Meta, m.MetaErr = prev.Meta, prev.MetaErr
		}
		if kind == EventFailed && known && prev.State == StateAlive && n.holdFailure(p, withState(m, StateFailed), now) {
			return
		}
		m.Since = now
		p.leaving = false
	}
	p.m = m
	n.emit(kind, m, prev.Meta)
}

func withState(m Member, s State) Member {
	m.State = s
	return m
}

func sameMember(a, b Member) bool {
	return a.Addr == b.Addr && a.MetaErr == nil && b.MetaErr == nil &&
		a.Meta.TransportAddr == b.Meta.TransportAddr && a.Meta.Zone == b.Meta.Zone &&
		a.Meta.BootID == b.Meta.BootID && a.Meta.Protocol == b.Meta.Protocol &&
		string(a.Meta.App) == string(b.Meta.App)
}

// ack records a probe round trip.
func (n *Node) ack(id string, rtt time.Duration) {
	if rtt <= 0 {
		rtt = time.Nanosecond
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	p, ok := n.peers[id]
	if !ok {
		return
	}
	p.lastAck = time.Now()
	if p.rtt == 0 {
		p.rtt = rtt
	} else {
		// EWMA with weight 1/8 for the new sample, like TCP's SRTT.
		p.rtt += (rtt - p.rtt) / 8
		if p.rtt <= 0 {
			p.rtt = time.Nanosecond
		}
	}
}

// evict drops the longest-gone failed or left member once the table is
// over MaxRemembered. Caller holds n.mu.
func (n *Node) evict() {
	for len(n.peers) > n.cfg.MaxRemembered {
		var victim string
		var oldest time.Time
		for id, p := range n.peers {
			if p.m.State == StateAlive || p.m.State == 0 {
				continue
			}
			if victim == "" || p.m.Since.Before(oldest) {
				victim, oldest = id, p.m.Since
			}
		}
		if victim == "" {
			return
		}
		delete(n.peers, victim)
	}
}

func (n *Node) markJoined() {
	n.joinedOnce.Do(func() { close(n.joined) })
}

// delegate adapts memberlist's callbacks; kept apart so Node does not
// export them.
type delegate struct{ n *Node }

func (d *delegate) NodeMeta(limit int) []byte {
	d.n.mu.Lock()
	defer d.n.mu.Unlock()
	if len(d.n.encoded) > limit {
		return nil // unreachable: Meta limits keep it under 512
	}
	return slices.Clone(d.n.encoded)
}

func (d *delegate) NotifyMsg([]byte)                           {}
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *delegate) LocalState(join bool) []byte                { return nil }
func (d *delegate) MergeRemoteState(buf []byte, join bool)     {}

func (d *delegate) NotifyJoin(node *memberlist.Node)   { d.n.observe(node, EventJoin) }
func (d *delegate) NotifyLeave(node *memberlist.Node)  { d.n.observe(node, EventLeave) }
func (d *delegate) NotifyUpdate(node *memberlist.Node) { d.n.observe(node, EventUpdate) }

// NotifyConflict is called when a member is known under one ID at two
// addresses. When it is this member, others still hold its old address:
// it restarted elsewhere before the old address was declared dead.
func (d *delegate) NotifyConflict(existing, other *memberlist.Node) {
	if existing.Name == d.n.cfg.NodeID {
		d.n.announceUntil.Store(time.Now().Add(announcePeriod).UnixNano())
	}
}

func (d *delegate) AckPayload() []byte { return nil }
func (d *delegate) NotifyPingComplete(other *memberlist.Node, rtt time.Duration, _ []byte) {
	d.n.ack(other.Name, rtt)
}

// newNetTransport is memberlist.NewNetTransport; tests replace it.
var newNetTransport = memberlist.NewNetTransport

// listenAttempts bounds the tries of listen with port 0.
const listenAttempts = 10

// listen binds memberlist's UDP and TCP listeners. With port 0 the TCP
// listener picks a free port and UDP must then bind the same one, which
// another socket may hold: like memberlist's own default transport, try
// again with a new port (up to listenAttempts times).
func listen(host string, port int, logger *log.Logger) (*memberlist.NetTransport, error) {
	var err error
	for range listenAttempts {
		var nt *memberlist.NetTransport
		nt, err = newNetTransport(&memberlist.NetTransportConfig{
			BindAddrs: []string{host},
			BindPort:  port,
			Logger:    logger,
		})
		if err == nil || port != 0 {
			return nt, err
		}
	}
	return nil, err
}
