package gridkv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridkv/gridkv/hlc"
	"github.com/gridkv/gridkv/quorum"
	"github.com/gridkv/gridkv/ring"
	"github.com/gridkv/gridkv/store"
	"github.com/gridkv/gridkv/swim"
	"github.com/gridkv/gridkv/transport"
	"github.com/hashicorp/memberlist"
)

// protocolVersion is published in the gossip metadata.
const protocolVersion = 1

// GridKV is one node of a cluster. Its methods are safe for concurrent use.
type GridKV struct {
	opts    Options
	id      string
	log     *slog.Logger
	store   *store.Store
	clock   *hlc.Clock
	net     *network
	tr      *transport.Transport
	q       *quorum.Node
	sw      *swim.Node
	metrics *nodeMetrics

	// refuse makes the node fail every replication request it receives
	// (tests: a replica cut off from the others' writes and reads).
	refuse atomic.Bool

	ring    atomic.Pointer[ringView]
	changed chan struct{} // closed and replaced on every ring change; under mu
	mu      sync.Mutex

	closeMu  sync.RWMutex
	closed   bool
	ops      sync.WaitGroup
	loopDone chan struct{}
	stopRTT  chan struct{}
	rttDone  chan struct{}
}

// ringView is the ring in force with the membership it was built from.
type ringView struct {
	r       *ring.Ring
	members []ring.Member
}

// New starts a node: its store, clock, transport (QUIC), membership
// (gossip) and replication engine, and joins SeedAddrs in the background
// (see WaitReady). With no seeds it is a cluster of one at once.
func New(opts Options) (*GridKV, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &GridKV{opts: o, log: o.Logger, changed: make(chan struct{}), loopDone: make(chan struct{}), stopRTT: make(chan struct{}), rttDone: make(chan struct{})}
	g.id = o.LocalNodeID
	if g.id == "" {
		g.id = defaultNodeID()
	}
	if len(g.id) > maxIDLen {
		return nil, fmt.Errorf("gridkv: LocalNodeID longer than %d bytes", maxIDLen)
	}

	tlsConf := o.TLS
	if tlsConf == nil {
		warn := g.log
		if opts.Logger == nil {
			warn = slog.Default() // loud even when the node is otherwise silent
		}
		warn.Warn("gridkv: INSECURE development TLS: node-to-node traffic uses a certificate derived from EncryptionKey (or from nothing); set Options.TLS in production")
		if tlsConf, err = devTLS(o.EncryptionKey); err != nil {
			return nil, err
		}
	}
	var cleanup []func()
	fail := func(err error) (*GridKV, error) {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
		return nil, err
	}

	g.store, err = store.New(&store.Config{
		MaxBytes:     int64(o.Storage.MaxMemoryMB) << 20,
		MaxKeySize:   o.Storage.MaxKeySize,
		MaxValueSize: o.Storage.MaxValueSize,
	})
	if err != nil {
		return nil, fmt.Errorf("gridkv: store: %w", err)
	}
	cleanup = append(cleanup, func() { g.store.Close() })
	if g.clock, err = hlc.NewClock(nil); err != nil {
		return fail(fmt.Errorf("gridkv: clock: %w", err))
	}

	g.net = &network{self: g.id}
	g.q, err = quorum.New(quorum.Config{
		ID:          g.id,
		NodeID:      store.NodeID(ring.KeyHash(g.id)),
		Store:       g.store,
		Network:     quorumNet{g.net},
		Clock:       g.clock,
		N:           o.ReplicaCount,
		W:           o.WriteQuorum,
		R:           o.ReadQuorum,
		Consistency: toQuorum(o.DefaultConsistency),
		Timeout:     o.ReplicationTimeout,
		MoveDelay:   o.RebalanceDelay,
		Join:        true,
		Logger:      o.Logger,
	})
	if err != nil {
		return fail(fmt.Errorf("gridkv: %w", err))
	}
	cleanup = append(cleanup, func() { g.q.Close() })

	g.tr, err = transport.Listen(o.TransportAddress, tlsConf, g.handle, &transport.Config{
		MaxMessageSize: max(transport.DefaultMaxMessageSize, 2*g.maxValueSize()+(1<<20)),
		Inline:         inline,
		Logger:         o.Logger,
	})
	if err != nil {
		return fail(fmt.Errorf("gridkv: transport on %s: %w", o.TransportAddress, err))
	}
	g.net.tr = g.tr
	cleanup = append(cleanup, func() { g.tr.Close() })

	g.metrics = newNodeMetrics(o.Metrics, g)
	trAddr := advertisedAddr(g.tr.Addr().String(), o.AdvertiseAddress, o.LocalAddress)
	var keys [][]byte
	if len(o.EncryptionKey) > 0 {
		keys = [][]byte{o.EncryptionKey}
	}
	g.sw, err = swim.Start(&swim.Config{
		NodeID:        g.id,
		BindAddr:      o.LocalAddress,
		AdvertiseAddr: o.AdvertiseAddress,
		Seeds:         o.SeedAddrs,
		Meta:          swim.Meta{TransportAddr: trAddr, Zone: o.DataCenter, Protocol: protocolVersion},
		SecretKeys:    keys,
		Logger:        o.Logger,
		Tune:          o.tuneMemberlist,
	})
	if err != nil {
		return fail(fmt.Errorf("gridkv: membership on %s: %w", o.LocalAddress, err))
	}
	// The first ring: at once for a node without seeds (a cluster of one),
	// after it has joined for the others (membershipLoop), so that it
	// lists the members that hold the data. Join: whatever this node
	// replicates in its first ring it pulls from the other replicas, and
	// its answers do not count toward read quorums until it has (it may
	// have restarted empty; in a cluster that starts fresh the pulls end at
	// once).
	g.rebuild()
	go g.membershipLoop()
	go g.rttLoop()
	g.log.Info("gridkv: node started", "id", g.id, "gossip", g.sw.Addr(), "transport", trAddr,
		"n", o.ReplicaCount, "w", o.WriteQuorum, "r", o.ReadQuorum)
	return g, nil
}

func defaultNodeID() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "gridkv"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return h + "-" + hex.EncodeToString(b[:])
}

// advertisedAddr is the transport address published to peers: the bound
// address, with an unspecified host replaced by the advertised or bound
// gossip host, or by this machine's first non-loopback address.
func advertisedAddr(bound, advertise, local string) string {
	host, port, err := net.SplitHostPort(bound)
	if err != nil {
		return bound
	}
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		return bound
	}
	for _, a := range []string{advertise, local} {
		if h, _, err := net.SplitHostPort(a); err == nil && h != "" {
			if ip := net.ParseIP(h); ip == nil || !ip.IsUnspecified() {
				return net.JoinHostPort(h, port)
			}
		}
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
				return net.JoinHostPort(n.IP.String(), port)
			}
		}
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// tuneMemberlist applies the failure detector options.
func (o Options) tuneMemberlist(c *memberlist.Config) {
	if o.GossipInterval > 0 {
		c.GossipInterval = o.GossipInterval
	}
	if o.FailureTimeout > 0 {
		c.ProbeTimeout = o.FailureTimeout
		if c.ProbeInterval < 2*o.FailureTimeout {
			c.ProbeInterval = 2 * o.FailureTimeout
		}
	}
	if o.SuspectTimeout > 0 && c.ProbeInterval > 0 {
		c.SuspicionMult = max(1, int((o.SuspectTimeout+c.ProbeInterval-1)/c.ProbeInterval))
	}
}

func (g *GridKV) maxValueSize() int {
	if g.opts.Storage.MaxValueSize > 0 {
		return g.opts.Storage.MaxValueSize
	}
	return store.DefaultMaxValueSize
}

func (g *GridKV) maxKeySize() int {
	if g.opts.Storage.MaxKeySize > 0 {
		return g.opts.Storage.MaxKeySize
	}
	return store.DefaultMaxKeySize
}

// handle serves the transport: quorum messages and gridkv's own.
func (g *GridKV) handle(ctx context.Context, _ transport.Peer, req []byte) ([]byte, error) {
	ch, from, payload, err := splitEnvelope(req)
	if err != nil {
		return nil, err
	}
	switch ch {
	case chanQuorum:
		if g.refuse.Load() {
			return nil, errRefused
		}
		return g.q.Handle(ctx, g.net.memberID(from), payload)
	case chanScan:
		return g.handleScan(payload)
	}
	return nil, fmt.Errorf("gridkv: unknown channel %q", ch)
}

// enter registers an operation; it fails once Close has begun.
func (g *GridKV) enter() error {
	g.closeMu.RLock()
	defer g.closeMu.RUnlock()
	if g.closed {
		return ErrClosed
	}
	g.ops.Add(1)
	return nil
}

func (g *GridKV) exit() { g.ops.Done() }

// opContext gives ctx the ReplicationTimeout if it has no deadline, and
// waits (within it) for the node's first ring: a node that has seeds has
// none until it has joined, so that its first ring lists the members that
// hold the data (see quorum.Config.Join).
func (g *GridKV) opContext(ctx context.Context) (context.Context, context.CancelFunc, error) {
	return g.waitRing(ctx, true)
}

// quorumContext is opContext for the operations of the quorum engine:
// once the node has a ring it returns ctx unchanged, since the engine
// already bounds an operation whose context has no deadline by the same
// ReplicationTimeout (quorum.Config.Timeout). A context.WithTimeout per
// operation costs 4 allocations (272 B) and a timer, per a micro-benchmark
// of context.WithTimeout plus its cancel.
func (g *GridKV) quorumContext(ctx context.Context) (context.Context, context.CancelFunc, error) {
	return g.waitRing(ctx, g.ring.Load() == nil)
}

func (g *GridKV) waitRing(ctx context.Context, bound bool) (context.Context, context.CancelFunc, error) {
	cancel := context.CancelFunc(func() {})
	if !bound {
		return ctx, cancel, nil
	}
	if _, ok := ctx.Deadline(); !ok {
		ctx, cancel = context.WithTimeout(ctx, g.opts.ReplicationTimeout)
	}
	for g.ring.Load() == nil {
		g.mu.Lock()
		ch := g.changed
		g.mu.Unlock()
		if g.ring.Load() != nil {
			break
		}
		select {
		case <-ch:
		case <-g.stopRTT: // Close has begun
			cancel()
			return nil, nil, ErrClosed
		case <-ctx.Done():
			cancel()
			return nil, nil, fmt.Errorf("gridkv: not joined yet: %w", ctx.Err())
		}
	}
	return ctx, cancel, nil
}

// ID returns the node's member ID.
func (g *GridKV) ID() string { return g.id }

// GossipAddr returns the advertised gossip address, which other nodes
// list in SeedAddrs.
func (g *GridKV) GossipAddr() string { return g.sw.Addr() }

// TransportAddr returns the bound address of the data transport.
func (g *GridKV) TransportAddr() string { return g.tr.Addr().String() }

// Close leaves the cluster gracefully (others see a leave, not a failure),
// waits for operations in progress, hands the node's data over to the
// members that take its ranges (for up to 20 s; it keeps serving them
// meanwhile), and stops every goroutine. Later
// operations fail with ErrClosed. Close is idempotent.
func (g *GridKV) Close() error {
	g.closeMu.Lock()
	if g.closed {
		g.closeMu.Unlock()
		return nil
	}
	g.closed = true
	g.closeMu.Unlock()
	close(g.stopRTT)
	<-g.rttDone
	errs := []error{g.sw.Close()}
	<-g.loopDone
	g.ops.Wait()
	g.handOffBeforeClose()
	errs = append(errs, g.q.Close(), g.tr.Close(), g.store.Close())
	g.log.Info("gridkv: node closed", "id", g.id)
	return errors.Join(errs...)
}

// WritePrometheus writes the node's metrics in the Prometheus text format.
func (g *GridKV) WritePrometheus(w io.Writer) { g.opts.Metrics.WritePrometheus(w) }

func toQuorum(c Consistency) quorum.Consistency {
	switch c {
	case One:
		return quorum.One
	case All:
		return quorum.All
	case Linearizable:
		return quorum.Linearizable
	}
	return quorum.Quorum
}

// options resolves per-operation options into c and the quorum options
// into buf (no allocation).
func (g *GridKV) options(opts []Option, buf *[2]quorum.Option) (opConfig, []quorum.Option) {
	c := opConfig{consistency: g.opts.DefaultConsistency}
	if len(opts) > 0 {
		for _, o := range opts {
			o.apply(&c)
		}
	}
	qo := append(buf[:0], quorum.WithConsistency(toQuorum(c.consistency)))
	if c.ttl > 0 {
		qo = append(qo, quorum.WithTTL(c.ttl))
	}
	return c, qo
}

func (g *GridKV) checkKey(key string) error {
	if len(key) > g.maxKeySize() {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrKeyTooLarge, len(key), g.maxKeySize())
	}
	return nil
}

// Set stores value under key on the key's replicas; it returns once the
// write quorum applied it. Options: WithTTL, WithConsistency. value may be
// reused at once.
func (g *GridKV) Set(ctx context.Context, key string, value []byte, opts ...Option) error {
	if err := g.enter(); err != nil {
		return err
	}
	defer g.exit()
	start := time.Now()
	err := g.set(ctx, key, value, opts)
	g.metrics.done(opSet, start, err)
	return err
}

func (g *GridKV) set(ctx context.Context, key string, value []byte, opts []Option) error {
	if err := g.checkKey(key); err != nil {
		return err
	}
	if len(value) > g.maxValueSize() {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrValueTooLarge, len(value), g.maxValueSize())
	}
	var buf [2]quorum.Option
	_, qo := g.options(opts, &buf)
	ctx, cancel, err := g.quorumContext(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	return g.q.Set(ctx, key, value, qo...)
}

// Get returns the value of key, or ErrNotFound. With consistency One on a
// node that holds a replica of key, it reads local memory only. The
// caller owns the returned slice.
func (g *GridKV) Get(ctx context.Context, key string, opts ...Option) ([]byte, error) {
	if err := g.enter(); err != nil {
		return nil, err
	}
	defer g.exit()
	start := time.Now()
	v, err := g.get(ctx, key, opts)
	g.metrics.done(opGet, start, err)
	return v, err
}

func (g *GridKV) get(ctx context.Context, key string, opts []Option) ([]byte, error) {
	if err := g.checkKey(key); err != nil {
		return nil, err
	}
	var buf [2]quorum.Option
	c, qo := g.options(opts, &buf)
	if c.consistency == One && g.isReplica(key) {
		if v, ok := g.store.Get(key); ok {
			g.metrics.localReads.Inc()
			return v, nil
		}
		// A local miss may be a replica still being filled: ask the others.
	}
	ctx, cancel, err := g.quorumContext(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	return g.q.Get(ctx, key, qo...)
}

// isReplica reports whether this node holds a replica of key.
func (g *GridKV) isReplica(key string) bool {
	rv := g.ring.Load()
	if rv == nil {
		return false
	}
	self, ok := rv.r.Index(g.id)
	if !ok {
		return false
	}
	var buf [16]int
	for _, i := range rv.r.Replicas(ring.KeyHash(key), g.opts.ReplicaCount, buf[:0]) {
		if i == self {
			return true
		}
	}
	return false
}

// Replicas returns the IDs of the members that hold key's replicas in the
// ring this node uses now, owner first.
func (g *GridKV) Replicas(key string) []string {
	rv := g.ring.Load()
	if rv == nil {
		return nil
	}
	var buf [16]int
	idx := rv.r.Replicas(ring.KeyHash(key), g.opts.ReplicaCount, buf[:0])
	ids := make([]string, len(idx))
	for i, m := range idx {
		ids[i] = rv.r.Member(m).ID
	}
	return ids
}

// Delete removes key (it writes a tombstone that replicates like a
// write). Deleting a missing key succeeds.
func (g *GridKV) Delete(ctx context.Context, key string, opts ...Option) error {
	if err := g.enter(); err != nil {
		return err
	}
	defer g.exit()
	start := time.Now()
	err := g.delete(ctx, key, opts)
	g.metrics.done(opDelete, start, err)
	return err
}

func (g *GridKV) delete(ctx context.Context, key string, opts []Option) error {
	if err := g.checkKey(key); err != nil {
		return err
	}
	var buf [2]quorum.Option
	_, qo := g.options(opts, &buf)
	ctx, cancel, err := g.quorumContext(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	return g.q.Delete(ctx, key, qo...)
}

// Exists reports whether key has a live value.
func (g *GridKV) Exists(ctx context.Context, key string, opts ...Option) (bool, error) {
	_, err := g.Get(ctx, key, opts...)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	}
	return false, err
}

// batchParallelism bounds the operations a batch runs at once.
const batchParallelism = 32

// MGet gets several keys in parallel; a missing key gives a nil value.
// Any other error fails the whole call.
func (g *GridKV) MGet(ctx context.Context, keys []string, opts ...Option) ([][]byte, error) {
	out := make([][]byte, len(keys))
	err := parallel(ctx, len(keys), func(ctx context.Context, i int) error {
		v, err := g.Get(ctx, keys[i], opts...)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if v == nil && err == nil {
			v = []byte{}
		}
		out[i] = v
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MSet sets several keys in parallel, with the same options. It is not
// atomic: on error, some keys may have been written.
func (g *GridKV) MSet(ctx context.Context, kvs []KV, opts ...Option) error {
	return parallel(ctx, len(kvs), func(ctx context.Context, i int) error {
		return g.Set(ctx, kvs[i].Key, kvs[i].Value, opts...)
	})
}

// parallel runs fn for 0..n-1, at most batchParallelism at once, and
// returns the first error (canceling the others).
func parallel(ctx context.Context, n int, fn func(context.Context, int) error) error {
	if n == 1 {
		return fn(ctx, 0)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, batchParallelism)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for i := range n {
		sem <- struct{}{}
		if ctx.Err() != nil {
			<-sem
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				once.Do(func() { first = err; cancel(err) })
			}
		})
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return first
}

// Ready reports whether the node has joined a cluster (or started one)
// and serves operations. It may still be receiving ranges (see
// WaitReady).
func (g *GridKV) Ready() bool {
	g.closeMu.RLock()
	closed := g.closed
	g.closeMu.RUnlock()
	if closed {
		return false
	}
	select {
	case <-g.sw.Joined():
		return g.ring.Load() != nil
	default:
		return false
	}
}

// WaitReady waits until the node has joined, its ring holds at least n
// members (n <= 1: this node alone), and it is not receiving any range
// (Stats.RangesReceiving is 0: it has pulled from the other replicas what
// it replicates, after it started or after a membership change), or ctx
// ends. A node that receives serves operations, but its own answers do not
// count toward read quorums yet (reads ask the other replicas).
func (g *GridKV) WaitReady(ctx context.Context, n int) error {
	for {
		g.mu.Lock()
		ch := g.changed
		g.mu.Unlock()
		if err := g.enter(); err != nil {
			return err
		}
		rv := g.ring.Load()
		g.exit()
		joined := false
		select {
		case <-g.sw.Joined():
			joined = true
		default:
		}
		if joined && rv != nil && rv.r.Len() >= n && g.q.Stats().RangesReceiving == 0 {
			return nil
		}
		t := time.NewTimer(100 * time.Millisecond) // Joined has no notification into ch
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("gridkv: wait for %d members: %w", n, ctx.Err())
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
}

// Stats returns a snapshot of the node's counters.
func (g *GridKV) Stats() Stats {
	ss := g.store.Stats()
	qs := g.q.Stats()
	s := Stats{
		NodeID:       g.id,
		ReplicaCount: g.opts.ReplicaCount,
		WriteQuorum:  g.opts.WriteQuorum,
		ReadQuorum:   g.opts.ReadQuorum,
		Keys:         ss.Keys,
		Tombstones:   ss.Tombstones,
		Bytes:        ss.Bytes,
		MaxBytes:     ss.MaxBytes,
		Evictions:    ss.Evictions,
		HintsPending: qs.Hints,

		RangesReceiving: qs.RangesReceiving,
	}
	for _, m := range g.sw.Members() {
		s.Members++
		if m.State == swim.StateAlive || m.State == swim.StateSuspect {
			s.AliveMembers++
		}
	}
	if rv := g.ring.Load(); rv != nil {
		s.RingMembers = rv.r.Len()
	}
	return s
}

// Members returns the members known to this node, sorted by ID.
func (g *GridKV) Members() []Member {
	ms := g.sw.Members()
	out := make([]Member, 0, len(ms))
	for _, m := range ms {
		out = append(out, Member{
			ID:            m.ID,
			GossipAddr:    m.Addr,
			TransportAddr: m.Meta.TransportAddr,
			Zone:          m.Meta.Zone,
			State:         m.State.String(),
			RTT:           m.RTT,
			Local:         m.Local,
			BootID:        m.Meta.BootID,
		})
	}
	return out
}

// String describes the node for logs.
func (g *GridKV) String() string {
	return "gridkv node " + strconv.Quote(g.id)
}
