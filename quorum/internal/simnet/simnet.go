// Package simnet is an in-memory network for whole-cluster tests of the
// quorum engine: nodes register a handler, get an Endpoint whose Call has
// the method set of quorum.Network, and the test injects faults while they
// talk.
//
// # Faults
//
// Every fault can be switched at run time:
//
//   - drop: a request or a reply is lost with a probability; the caller then
//     waits until its context ends, as it would for a lost packet;
//   - delay: each message (request and reply separately) waits a time drawn
//     uniformly from [MinDelay, MaxDelay], so messages also overtake each
//     other (reordering);
//   - duplicate: with a probability the handler runs a second time on a copy
//     of the request, a little later; the second reply is discarded;
//   - partition: groups of nodes that cannot reach each other (symmetric), or
//     one-way blocks (from → to only); calls across them are lost;
//   - crash: the node's handler is no longer called; calls to it fail fast
//     with ErrUnreachable or are lost (CrashTimeout), and its own calls fail
//     with ErrCrashed; Restart brings it back, with a new handler if given;
//   - freeze: calls to the node are held and never answered until the
//     caller's context ends (a SIGSTOPped process); a call still waiting when
//     Unfreeze is called is delivered then;
//   - heal: Heal lifts partitions and blocks; HealAll also every crash and
//     freeze, and restores the loss, delay and duplication given to New.
//
// Request and reply bytes are copied at every hop, so no two nodes share
// memory.
//
// # Randomness and replay
//
// Every random decision comes from one generator seeded by New, under the
// network's mutex, so a single caller replays exactly for a seed. With many
// goroutines the order in which they draw depends on the scheduler, so a
// seed replays the same fault mix and usually, not always, the same history.
//
// # testing/synctest
//
// The network uses only timers, channels and goroutines it creates when
// called, and never blocks except on those and on short mutexes, so it works
// inside a synctest bubble (create it inside the bubble) and its delays are
// virtual time. Close releases every held message and waits for the handler
// goroutines it started, so no goroutine outlives it.
package simnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"
)

// Errors returned by Endpoint.Call besides the caller's context errors.
var (
	// ErrUnreachable: the destination is crashed (CrashFailFast) or unknown.
	ErrUnreachable = errors.New("simnet: node unreachable")
	// ErrCrashed: the calling node itself is crashed.
	ErrCrashed = errors.New("simnet: calling node is crashed")
	// ErrClosed: the network was closed.
	ErrClosed = errors.New("simnet: network closed")
)

// Handler serves one request sent to a node. It has the signature of
// quorum's Node.Handle. It must be safe for concurrent use.
type Handler func(ctx context.Context, from string, req []byte) ([]byte, error)

// CrashMode says what a call to a crashed node does.
type CrashMode int

const (
	// CrashFailFast: the call fails at once (after the request delay) with
	// ErrUnreachable, like a refused connection.
	CrashFailFast CrashMode = iota
	// CrashTimeout: the request is lost; the call returns when the caller's
	// context ends, like a dead host that does not answer.
	CrashTimeout
)

// Options are the network's initial fault settings. The zero value is a
// perfect network: no loss, no delay, no duplicates.
type Options struct {
	DropRequest float64       // probability a request is lost
	DropReply   float64       // probability a reply is lost
	Duplicate   float64       // probability a request is delivered twice
	MinDelay    time.Duration // per-message delay, uniform in [MinDelay, MaxDelay]
	MaxDelay    time.Duration
	Crash       CrashMode
}

// Stats counts one node's traffic.
type Stats struct {
	Sent         uint64 // calls this node made
	Delivered    uint64 // requests its handler ran (duplicates included)
	DroppedReq   uint64 // requests to it lost (drop, partition, crash, freeze)
	DroppedReply uint64 // replies from it lost
	Duplicated   uint64 // extra deliveries to it
	Refused      uint64 // calls to it refused because it was crashed (fail fast)
}

type node struct {
	handler Handler
	crashed bool
	// frozen is non-nil while the node is frozen; Unfreeze closes it.
	frozen chan struct{}
	// ctx is given to handlers and canceled on Crash and Close.
	ctx    context.Context
	cancel context.CancelFunc
	stats  Stats
}

type pair struct{ from, to string }

// Net is a simulated network. All methods are safe for concurrent use.
type Net struct {
	mu      sync.Mutex
	rng     *rand.Rand
	opts    Options
	initial Options // as given to New, restored by HealAll
	tap     func(from, to string, req []byte)
	nodes   map[string]*node
	group   map[string]int // partition group per node; absent means group 0
	blocks  map[pair]bool  // one-way blocks
	// isolated hands out group numbers below zero to Isolate, so that
	// they never collide with Partition's.
	isolated int
	closed   chan struct{}
	done     bool
	wg       sync.WaitGroup // handler and duplicate goroutines
}

// New returns a network whose random decisions all come from seed. A nil
// opts means a perfect network.
func New(seed int64, opts *Options) *Net {
	n := &Net{
		rng:    rand.New(rand.NewPCG(uint64(seed), 0x5eed5eed5eed5eed)),
		nodes:  make(map[string]*node),
		group:  make(map[string]int),
		blocks: make(map[pair]bool),
		closed: make(chan struct{}),
	}
	if opts != nil {
		n.opts = *opts
	}
	n.initial = n.opts
	return n
}

// Register sets the handler of node id, adding the node if it is new.
// Re-registering a node replaces its handler and leaves its fault state.
func (n *Net) Register(id string, h Handler) {
	n.mu.Lock()
	defer n.mu.Unlock()
	nd := n.nodes[id]
	if nd == nil {
		nd = &node{}
		nd.ctx, nd.cancel = context.WithCancel(context.Background())
		n.nodes[id] = nd
	}
	nd.handler = h
}

// Nodes returns the registered node IDs, sorted.
func (n *Net) Nodes() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	ids := make([]string, 0, len(n.nodes))
	for id := range n.nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Endpoint is node id's access to the network. Its Call method has the
// method set of quorum.Network.
type Endpoint struct {
	net *Net
	id  string
}

// Endpoint returns the network interface of node id. The node need not be
// registered yet.
func (n *Net) Endpoint(id string) *Endpoint { return &Endpoint{net: n, id: id} }

// ID returns the node the endpoint sends from.
func (e *Endpoint) ID() string { return e.id }

// Call sends req to node to and returns its handler's reply, subject to the
// network's faults. It returns the caller's context error when a message is
// lost or held, ErrUnreachable for a crashed (fail-fast) or unknown node,
// ErrCrashed when the caller is crashed, ErrClosed after Close, and the
// handler's own error otherwise.
func (e *Endpoint) Call(ctx context.Context, to string, req []byte) ([]byte, error) {
	return e.net.call(ctx, e.id, to, req)
}

// Go is Call on a goroutine of its own that hands the result to done:
// it makes an Endpoint a quorum.AsyncNetwork, so that the simulations
// drive the engine's asynchronous path (gridkv's transport has one).
func (e *Endpoint) Go(ctx context.Context, to string, req []byte, done func([]byte, error)) {
	req = bytes.Clone(req)
	go func() { done(e.net.call(ctx, e.id, to, req)) }()
}

// Fate of a request, decided when it is sent.
type fate struct {
	lost      bool // lost on the way (drop, partition, crash with timeout)
	refused   bool // crashed destination, fail fast
	dup       bool
	reqDelay  time.Duration
	dupDelay  time.Duration
	dropReply bool
	repDelay  time.Duration
}

func (n *Net) delayLocked() time.Duration {
	lo, hi := n.opts.MinDelay, n.opts.MaxDelay
	if hi <= lo {
		return max(lo, 0)
	}
	return lo + time.Duration(n.rng.Int64N(int64(hi-lo)+1))
}

func (n *Net) chanceLocked(p float64) bool {
	if p <= 0 {
		return false
	}
	return n.rng.Float64() < p
}

func (n *Net) cutLocked(from, to string) bool {
	return n.group[from] != n.group[to] || n.blocks[pair{from, to}]
}

func (n *Net) call(ctx context.Context, from, to string, req []byte) ([]byte, error) {
	n.mu.Lock()
	if n.done {
		n.mu.Unlock()
		return nil, ErrClosed
	}
	src, dst := n.nodes[from], n.nodes[to]
	if n.tap != nil {
		n.tap(from, to, req)
	}
	if src != nil {
		src.stats.Sent++
		if src.crashed {
			n.mu.Unlock()
			return nil, ErrCrashed
		}
	}
	// Draw every random number in a fixed order so that the sequence of
	// draws per call does not depend on the outcome.
	f := fate{
		reqDelay:  n.delayLocked(),
		repDelay:  n.delayLocked(),
		dupDelay:  n.delayLocked(),
		lost:      n.chanceLocked(n.opts.DropRequest),
		dropReply: n.chanceLocked(n.opts.DropReply),
		dup:       n.chanceLocked(n.opts.Duplicate),
	}
	switch {
	case dst == nil:
		n.mu.Unlock()
		return nil, fmt.Errorf("%w: %q unknown", ErrUnreachable, to)
	case n.cutLocked(from, to):
		f.lost = true
	case dst.crashed:
		if n.opts.Crash == CrashFailFast {
			f.refused = true
			dst.stats.Refused++
		} else {
			f.lost = true
		}
	}
	if f.lost {
		dst.stats.DroppedReq++
	}
	closed := n.closed
	n.mu.Unlock()

	if f.lost {
		return nil, n.wait(ctx, closed)
	}
	if err := sleep(ctx, closed, f.reqDelay); err != nil {
		return nil, err
	}
	if f.refused {
		return nil, fmt.Errorf("%w: %q is down", ErrUnreachable, to)
	}

	// Delivery: the destination's state may have changed on the way.
	h, hctx, err := n.admit(ctx, from, to, closed)
	if err != nil {
		return nil, err
	}
	if f.dup {
		n.duplicate(from, to, req, f.dupDelay)
	}
	reply, err := n.run(ctx, hctx, h, from, to, req, closed)
	if err != nil {
		return nil, err
	}

	n.mu.Lock()
	if f.dropReply || n.cutLocked(to, from) {
		dst.stats.DroppedReply++
		f.dropReply = true
	}
	n.mu.Unlock()
	if f.dropReply {
		return nil, n.wait(ctx, closed)
	}
	if err := sleep(ctx, closed, f.repDelay); err != nil {
		return nil, err
	}
	n.mu.Lock()
	srcDown := src != nil && src.crashed
	n.mu.Unlock()
	if srcDown {
		return nil, ErrCrashed
	}
	return reply, nil
}

// admit waits while the destination is frozen and returns its handler, or an
// error if the call cannot be delivered.
func (n *Net) admit(ctx context.Context, from, to string, closed chan struct{}) (Handler, context.Context, error) {
	for {
		n.mu.Lock()
		dst := n.nodes[to]
		switch {
		case n.done:
			n.mu.Unlock()
			return nil, nil, ErrClosed
		case dst.crashed:
			mode := n.opts.Crash
			if mode == CrashFailFast {
				dst.stats.Refused++
			} else {
				dst.stats.DroppedReq++
			}
			n.mu.Unlock()
			if mode == CrashFailFast {
				return nil, nil, fmt.Errorf("%w: %q is down", ErrUnreachable, to)
			}
			return nil, nil, n.wait(ctx, closed)
		case dst.frozen != nil:
			thaw := dst.frozen
			n.mu.Unlock()
			select {
			case <-thaw:
				continue
			case <-ctx.Done():
				n.mu.Lock()
				dst.stats.DroppedReq++
				n.mu.Unlock()
				return nil, nil, ctx.Err()
			case <-closed:
				return nil, nil, ErrClosed
			}
		}
		dst.stats.Delivered++
		h, hctx := dst.handler, dst.ctx
		n.mu.Unlock()
		if h == nil {
			return nil, nil, fmt.Errorf("%w: %q has no handler", ErrUnreachable, to)
		}
		return h, hctx, nil
	}
}

// run calls the handler in its own goroutine, so the caller returns when its
// context ends even if the handler is slow. The handler's context carries
// the caller's deadline (as an RPC system propagates it) but is canceled by
// the destination's crash, not by the caller.
func (n *Net) run(ctx, hctx context.Context, h Handler, from, to string, req []byte, closed chan struct{}) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	in := clone(req)
	done := make(chan result, 1)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		c, cancel := hctx, context.CancelFunc(func() {})
		if dl, ok := ctx.Deadline(); ok {
			c, cancel = context.WithDeadline(hctx, dl)
		}
		defer cancel()
		b, err := h(c, from, in)
		done <- result{clone(b), err}
	}()
	select {
	case r := <-done:
		return r.b, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-closed:
		return nil, ErrClosed
	}
}

// duplicate delivers a second copy of req after delay, discarding the reply.
func (n *Net) duplicate(from, to string, req []byte, delay time.Duration) {
	in := clone(req)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.mu.Lock()
		closed := n.closed
		n.mu.Unlock()
		if sleep(context.Background(), closed, delay) != nil {
			return
		}
		n.mu.Lock()
		dst := n.nodes[to]
		if n.done || dst.crashed || dst.frozen != nil || n.cutLocked(from, to) {
			n.mu.Unlock()
			return
		}
		dst.stats.Delivered++
		dst.stats.Duplicated++
		h, hctx := dst.handler, dst.ctx
		n.mu.Unlock()
		if h != nil {
			c, cancel := context.WithTimeout(hctx, time.Minute)
			defer cancel()
			_, _ = h(c, from, in)
		}
	}()
}

// wait blocks until ctx ends or the network closes: the fate of a lost
// message.
func (n *Net) wait(ctx context.Context, closed chan struct{}) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-closed:
		return ErrClosed
	}
}

func sleep(ctx context.Context, closed chan struct{}, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-closed:
		return ErrClosed
	}
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

// SetDrop sets the probabilities that a request and a reply are lost.
func (n *Net) SetDrop(request, reply float64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.opts.DropRequest, n.opts.DropReply = request, reply
}

// SetDelay sets the per-message delay range.
func (n *Net) SetDelay(lo, hi time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.opts.MinDelay, n.opts.MaxDelay = lo, hi
}

// SetDuplicate sets the probability that a request is delivered twice.
func (n *Net) SetDuplicate(p float64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.opts.Duplicate = p
}

// SetCrashMode sets what calls to crashed nodes do.
func (n *Net) SetCrashMode(m CrashMode) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.opts.Crash = m
}

// Partition splits the network: nodes in different groups cannot reach each
// other; nodes named in no group form one more group together. It replaces
// any earlier partition (one-way blocks stay).
func (n *Net) Partition(groups ...[]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.group = make(map[string]int)
	for i, g := range groups {
		for _, id := range g {
			n.group[id] = i + 1
		}
	}
}

// Block drops every message sent from one node to another (one way: replies
// from to to from still pass, but a call from → to never reaches to, and a
// call to → from gets no reply).
func (n *Net) Block(from, to string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.blocks[pair{from, to}] = true
}

// Unblock lifts a Block.
func (n *Net) Unblock(from, to string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.blocks, pair{from, to})
}

// Isolate cuts node id off from every other node in both directions.
func (n *Net) Isolate(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.isolated--
	n.group[id] = n.isolated
}

// Heal lifts every partition and block. Crashes and freezes stay.
func (n *Net) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.group = make(map[string]int)
	n.blocks = make(map[pair]bool)
}

// Crash stops node id: its handler is no longer called, the context of its
// running handlers is canceled, calls to it fail (fast or by timeout, see
// CrashMode) and its own calls fail with ErrCrashed.
func (n *Net) Crash(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	nd := n.nodes[id]
	if nd == nil || nd.crashed {
		return
	}
	nd.crashed = true
	nd.cancel()
}

// Restart brings a crashed node back. A non-nil h replaces its handler (a
// node restarted with a new, empty store); nil keeps the old one.
func (n *Net) Restart(id string, h Handler) {
	n.mu.Lock()
	defer n.mu.Unlock()
	nd := n.nodes[id]
	if nd == nil {
		nd = &node{}
		n.nodes[id] = nd
	}
	if h != nil {
		nd.handler = h
	}
	if nd.crashed || nd.ctx == nil {
		nd.ctx, nd.cancel = context.WithCancel(context.Background())
	}
	nd.crashed = false
}

// Crashed reports whether node id is crashed.
func (n *Net) Crashed(id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	nd := n.nodes[id]
	return nd != nil && nd.crashed
}

// Freeze holds every call to node id until it is unfrozen or the caller
// gives up. The node's own calls still go out.
func (n *Net) Freeze(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	nd := n.nodes[id]
	if nd != nil && nd.frozen == nil {
		nd.frozen = make(chan struct{})
	}
}

// Unfreeze delivers the calls held for node id whose callers still wait.
func (n *Net) Unfreeze(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	nd := n.nodes[id]
	if nd != nil && nd.frozen != nil {
		close(nd.frozen)
		nd.frozen = nil
	}
}

// HealAll returns the network to the Options given to New: no partition,
// block, crash or freeze, and the initial loss, delay, duplication and
// crash mode. Crashed nodes come back with their old handlers.
func (n *Net) HealAll() {
	n.mu.Lock()
	n.group = make(map[string]int)
	n.blocks = make(map[pair]bool)
	n.opts = n.initial
	var crashed, frozen []string
	for id, nd := range n.nodes {
		if nd.crashed {
			crashed = append(crashed, id)
		}
		if nd.frozen != nil {
			frozen = append(frozen, id)
		}
	}
	n.mu.Unlock()
	for _, id := range crashed {
		n.Restart(id, nil)
	}
	for _, id := range frozen {
		n.Unfreeze(id)
	}
}

// SetTap installs f to see every request sent (before any fault applies),
// for tests that watch the protocol. f runs under the network's lock: it
// must be quick, must not call the network, and must not keep or modify
// req. Nil removes it.
func (n *Net) SetTap(f func(from, to string, req []byte)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.tap = f
}

// Stats returns node id's counters.
func (n *Net) Stats(id string) Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	if nd := n.nodes[id]; nd != nil {
		return nd.stats
	}
	return Stats{}
}

// Float64 returns a random number in [0, 1) from the network's generator,
// for tests that want their fault schedule drawn from the same seed.
func (n *Net) Float64() float64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.rng.Float64()
}

// Close fails every call in flight and every later call with ErrClosed,
// cancels the handlers' contexts and waits for the goroutines the network
// started. It is idempotent.
func (n *Net) Close() error {
	n.mu.Lock()
	if !n.done {
		n.done = true
		close(n.closed)
		for _, nd := range n.nodes {
			nd.cancel()
		}
	}
	n.mu.Unlock()
	n.wg.Wait()
	return nil
}
