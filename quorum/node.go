package quorum

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridkv/gridkv/hlc"
	"github.com/gridkv/gridkv/ring"
	"github.com/gridkv/gridkv/store"
)

// Node is one member's replication engine: it coordinates the operations
// its application issues (Set, Get, Delete) and serves its peers' requests
// (Handle). All methods are safe for concurrent use.
type Node struct {
	cfg   Config
	st    *store.Store
	net   Network
	async AsyncNetwork // net, if it is one
	clock *hlc.Clock

	ring  atomic.Pointer[ringState]
	peers peerTable
	epoch time.Time // peer times are nanoseconds since epoch (monotonic)
	hints hintStore
	moves moveSet
	hand  handoffSet
	st8   stats

	// dropMu orders handoff drops against ring swaps: a copy is dropped
	// only while the ring its handoff was checked against is in force.
	dropMu sync.Mutex

	// ctx is canceled by Close; every background call derives from it.
	ctx    context.Context
	cancel context.CancelFunc
	// closeMu orders wg.Add after a closed check against Close's wg.Wait.
	closeMu sync.RWMutex
	closed  bool
	wg      sync.WaitGroup

	calls sync.Pool // *batchCall
	live  liveCalls

	hintKick chan struct{}
	syncKick chan struct{}
	syncMu   sync.Mutex
	syncWant map[string]bool // peers to run anti-entropy with now
	ringKick chan struct{}
	handKick chan struct{}
}

// ringState is the ring in force with what the node derives from it.
type ringState struct {
	r      *ring.Ring
	ids    []string // member IDs by ring index
	far    []bool   // by ring index: in another zone than this node
	self   int      // index of this node, -1 if it is not a member
	ranges []ring.Change
}

// New returns a Node configured by cfg and starts its background work
// (hint delivery, anti-entropy, rebalancing); Close stops it. The Node
// serves nothing until SetRing gives it the members.
func New(cfg Config) (*Node, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	n := &Node{
		cfg:      cfg,
		st:       cfg.Store,
		net:      cfg.Network,
		clock:    cfg.Clock,
		hintKick: make(chan struct{}, 1),
		syncKick: make(chan struct{}, 1),
		ringKick: make(chan struct{}, 1),
		handKick: make(chan struct{}, 1),
		syncWant: make(map[string]bool),
		epoch:    time.Now(),
	}
	n.async, _ = cfg.Network.(AsyncNetwork)
	n.peers.m = make(map[string]*peer)
	n.hints.init(cfg.MaxHints, cfg.MaxHintBytes, cfg.HintTTL)
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.wg.Add(4)
	go n.hintLoop()
	go n.syncLoop()
	go n.moveLoop()
	go n.handoffLoop()
	return n, nil
}

// Close first tries, for at most Timeout, to deliver the hints it holds
// (see flushHints); those it could not deliver are lost and logged. It
// then stops every goroutine the Node started, after canceling their
// calls, and waits for them. Operations in progress fail with ErrClosed
// or a *QuorumError; later ones fail with ErrClosed. The Store is not
// closed. Close is idempotent.
func (n *Node) Close() error {
	n.closeMu.Lock()
	if n.closed {
		n.closeMu.Unlock()
		return nil
	}
	n.closed = true
	n.closeMu.Unlock()
	n.flushHints()
	n.cancel()
	n.live.closeAll()
	n.wg.Wait()
	return nil
}

// enter registers k goroutines about to start; false if the Node is closed.
func (n *Node) enter(k int) bool {
	n.closeMu.RLock()
	defer n.closeMu.RUnlock()
	if n.closed {
		return false
	}
	n.wg.Add(k)
	return true
}

// SetRing swaps in a new membership ring. Ranges whose replica sets
// change are pulled by their new replicas (see the package documentation,
// Rebalancing). The ring must be built with the same ring.Config on every
// node. A nil ring is ignored.
func (n *Node) SetRing(r *ring.Ring) {
	if r == nil {
		return
	}
	ids := make([]string, r.Len())
	for i := range ids {
		ids[i] = r.Member(i).ID
	}
	self, ok := r.Index(n.cfg.ID)
	if !ok {
		self = -1
	}
	far := make([]bool, r.Len())
	if self >= 0 {
		zone := r.Member(self).Zone
		for i := range far {
			far[i] = r.Member(i).Zone != zone
		}
	}
	rs := &ringState{r: r, ids: ids, far: far, self: self, ranges: rangeTable(r, n.cfg.N)}
	n.dropMu.Lock()
	old := n.ring.Swap(rs)
	n.dropMu.Unlock()
	switch {
	case old != nil:
		n.planMoves(old, rs)
	case n.cfg.Join:
		n.planJoin(rs)
	}
}

// SetAlive is the failure detector's input: alive=false makes reads ask
// the member last; alive=true delivers its hints at once and, if it was
// down, runs anti-entropy with it. Members never reported are alive.
func (n *Node) SetAlive(id string, alive bool) {
	p := n.peers.get(id)
	was := p.alive.Swap(alive)
	if alive {
		n.kickHints()
		if !was {
			n.wantSync(id)
		}
	}
}

// Restarted reports that member id came back empty (a new boot id): it is
// refilled by anti-entropy with this node at once, for every range they
// share.
func (n *Node) Restarted(id string) {
	n.peers.get(id).alive.Store(true)
	n.kickHints()
	n.wantSync(id)
}

// SetRTT records the latest round-trip time estimate to member id; reads
// ask faster replicas first.
func (n *Node) SetRTT(id string, d time.Duration) {
	n.peers.get(id).rtt.Store(int64(d))
}

// peerTable holds what the node knows about each peer.
type peerTable struct {
	mu sync.RWMutex
	m  map[string]*peer
}

type peer struct {
	alive atomic.Bool
	rtt   atomic.Int64
	// The stall signal (see stalled): the calls of reads and writes to the
	// peer that have not returned yet, the replies it returned, the
	// replies a stall check last saw, and the time (Node.now) of that
	// check if it saw new ones, or of the send that found no call
	// outstanding, if later. Replies cost no clock read: a check dates
	// them.
	out     atomic.Int64
	replies atomic.Uint64
	seen    atomic.Uint64
	since   atomic.Int64
}

// now is the time peers' stall signals use: nanoseconds since n.epoch on
// the monotonic clock (virtual time in a synctest bubble).
func (n *Node) now() int64 { return int64(time.Since(n.epoch)) }

// sent records a call to p about to go out.
func (p *peer) sent(n *Node) {
	if p.out.Load() == 0 {
		// Nothing outstanding: the wait starts now, and the replies so
		// far are older.
		p.seen.Store(p.replies.Load())
		p.since.Store(n.now())
	}
	p.out.Add(1)
}

// returned records a call to p that returned, with a reply if ok (an
// error, a timeout in particular, is no sign of life).
func (p *peer) returned(ok bool) {
	if ok {
		p.replies.Add(1)
	}
	p.out.Add(-1)
}

// stalled reports whether p has had calls outstanding, and returned no
// reply to any, for at least max(StallAfter, 4×RTT) before now. A reply
// is dated by the first check that sees it (this one, or an earlier one),
// so a peer may count as stalled a little after its silence began plus
// the threshold.
func (n *Node) stalled(p *peer, now int64) bool {
	if n.cfg.StallAfter < 0 || p.out.Load() == 0 {
		return false
	}
	if r := p.replies.Load(); r != p.seen.Load() {
		p.seen.Store(r)
		p.since.Store(now)
		return false
	}
	return now-p.since.Load() >= int64(n.stallAfter(time.Duration(p.rtt.Load())))
}

// stallAfter is how long a peer with round-trip time rtt (0: unknown) may
// leave calls unanswered before it counts as stalled.
func (n *Node) stallAfter(rtt time.Duration) time.Duration {
	return max(n.cfg.StallAfter, 4*rtt)
}

// readOrder marks the targets whose peers are stalled now and returns
// readOrder's order for them (the package function), counting the reads
// that leave a stalled replica out of the first rq asked. It reads the
// clock only if some peer has calls outstanding.
func (n *Node) readOrder(ts []target, rq int, dst []int) []int {
	var now int64
	stalls := false
	for i := range ts {
		p := ts[i].p
		if p == nil || n.cfg.StallAfter < 0 || p.out.Load() == 0 {
			continue
		}
		if now == 0 {
			now = n.now()
		}
		ts[i].stalled = n.stalled(p, now)
		stalls = stalls || ts[i].stalled
	}
	order := readOrder(ts, dst)
	if stalls {
		for _, i := range order[min(rq, len(order)):] {
			if ts[i].stalled {
				n.st8.stallSkips.Add(1)
				break
			}
		}
	}
	return order
}

// askedStalled reports whether a target that read tracker rt asked and
// still waits for is stalled now.
func (n *Node) askedStalled(rt *readTracker, ts []target) bool {
	now := n.now()
	for i := range ts {
		if rt.state[i] == rAsked && ts[i].p != nil && n.stalled(ts[i].p, now) {
			return true
		}
	}
	return false
}

func (t *peerTable) lookup(id string) *peer {
	t.mu.RLock()
	p := t.m[id]
	t.mu.RUnlock()
	return p
}

func (t *peerTable) get(id string) *peer {
	if p := t.lookup(id); p != nil {
		return p
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.m[id]
	if p == nil {
		p = &peer{}
		p.alive.Store(true)
		t.m[id] = p
	}
	return p
}

func (n *Node) alive(id string) bool {
	p := n.peers.lookup(id)
	return p == nil || p.alive.Load()
}

// replicaSet fills ts with key hash h's replicas.
func (n *Node) replicaSet(rs *ringState, h uint64, ts *[maxReplicas]target) []target {
	var idx [maxReplicas]int
	reps := rs.r.Replicas(h, n.cfg.N, idx[:0])
	out := ts[:0]
	for _, m := range reps {
		t := target{id: rs.ids[m], local: m == rs.self, alive: true, far: rs.far[m]}
		if !t.local {
			p := n.peers.get(t.id)
			t.p = p
			t.alive = p.alive.Load()
			t.rtt = time.Duration(p.rtt.Load())
		}
		out = append(out, t)
	}
	return out
}

// deadline is Timeout from now, or ctx's deadline if that is earlier: a
// caller's long deadline (a server's per-command one, say) never keeps
// an operation that cannot reach its quorum waiting beyond Timeout.
func (n *Node) deadline(ctx context.Context) time.Time {
	dl := time.Now().Add(n.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		return d
	}
	return dl
}

// reply is one answer to a call.
type reply struct {
	i   int
	b   []byte
	err error
}

// batchCall sends one request to several targets in parallel. Its calls
// outlive the operation that started them (up to the deadline), so a write
// keeps going to the replicas that have not answered, and failed writes
// become hints. batchCalls are pooled with their channel, buffer and
// timer: the last of the owner and the calls to finish recycles it.
type batchCall struct {
	n       *Node
	cx      callCtx // the calls' context: the deadline, canceled by Close
	req     []byte
	res     chan reply // capacity maxReplicas: one reply per target at most
	left    atomic.Int32
	timer   *time.Timer // the owner's hedge timer, created on first use
	hint    bool        // on a network failure, keep a hint
	key     string      // of the hint
	version store.Version
	entry   []byte // req's encoded entry, for hints

	// For AsyncNetwork: the callback of target i, made on first use and
	// kept with the pooled batchCall, and the ID it calls.
	dones [maxReplicas]func([]byte, error)
	ids   [maxReplicas]string
	// ps[i] is target i's peer (stall signal), nil for none.
	ps [maxReplicas]*peer
}

func (n *Node) newBatchCall(deadline time.Time) *batchCall {
	c, _ := n.calls.Get().(*batchCall)
	if c == nil {
		c = &batchCall{n: n, res: make(chan reply, maxReplicas), req: make([]byte, 0, 256)}
	}
	c.cx.arm(deadline)
	n.live.add(c)
	c.left.Store(1) // the owner's reference, dropped by release
	return c
}

// send calls target i (t): through AsyncNetwork.Go if the network has
// it, else in a new goroutine; false if the Node is closed.
func (c *batchCall) send(i int, t *target) bool {
	id := t.id
	if !c.n.enter(1) {
		return false
	}
	c.left.Add(1)
	c.ps[i] = t.p // each target is called once per operation
	if t.p != nil {
		t.p.sent(c.n)
	}
	if c.n.async != nil {
		if c.dones[i] == nil {
			c.dones[i] = func(b []byte, err error) { c.finish(i, c.ids[i], b, err) }
		}
		c.ids[i] = id // each target is called once per operation
		c.n.async.Go(&c.cx, id, c.req, c.dones[i])
		return true
	}
	go c.run(i, id)
	return true
}

func (c *batchCall) run(i int, id string) {
	b, err := c.n.net.Call(&c.cx, id, c.req)
	c.finish(i, id, b, err)
}

// finish delivers target i's reply to the owner (a failed write becomes
// a hint) and drops the call's reference.
func (c *batchCall) finish(i int, id string, b []byte, err error) {
	defer c.n.wg.Done()
	if p := c.ps[i]; p != nil {
		p.returned(err == nil)
	}
	if err != nil && c.hint {
		c.n.addHint(id, c.key, c.version, c.entry)
	}
	c.res <- reply{i: i, b: b, err: err}
	c.release()
}

// startTimer (re)arms the owner's timer and returns its channel.
func (c *batchCall) startTimer(d time.Duration) <-chan time.Time {
	if c.timer == nil {
		c.timer = time.NewTimer(d)
	} else {
		c.timer.Reset(d)
	}
	return c.timer.C
}

// release drops one reference; the last one recycles the batchCall.
func (c *batchCall) release() {
	if c.left.Add(-1) != 0 {
		return
	}
	c.n.live.remove(c)
	reusable := c.cx.disarm()
	if c.timer != nil {
		c.timer.Stop() // since Go 1.23 no stale tick can be received after Stop
	}
	for len(c.res) > 0 {
		<-c.res
	}
	if !reusable || cap(c.req) > 64<<10 {
		return // a fired timer may still be running; large buffers are not kept
	}
	c.req = c.req[:0]
	c.hint, c.key, c.version, c.entry = false, "", store.Version{}, nil
	c.n.calls.Put(c)
}

// waitErr is the error that ends a wait: the caller's context, the
// deadline, or Close.
func (n *Node) waitErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if n.ctx.Err() != nil {
		return ErrClosed
	}
	return context.DeadlineExceeded
}

// Set stores value under key on the key's replicas and returns when the
// write quorum applied it (see Consistency). The caller may reuse value
// at once. Options: WithTTL, WithConsistency.
func (n *Node) Set(ctx context.Context, key string, value []byte, opts ...Option) error {
	o := n.options(opts)
	if value == nil {
		value = []byte{}
	}
	n.st8.sets.Add(1)
	return n.write(ctx, "set", store.Entry{Key: key, Value: value}, o)
}

// Delete removes key: it writes a tombstone, which replicates like a write.
// Deleting a missing key succeeds.
func (n *Node) Delete(ctx context.Context, key string, opts ...Option) error {
	o := n.options(opts)
	n.st8.deletes.Add(1)
	return n.write(ctx, "delete", store.Entry{Key: key, Tombstone: true}, o)
}

func (n *Node) write(ctx context.Context, op string, e store.Entry, o opOptions) error {
	rs := n.ring.Load()
	if rs == nil {
		return ErrNoRing
	}
	if n.isClosed() {
		return ErrClosed
	}
	dl := n.deadline(ctx)
	var tsBuf [maxReplicas]target
	h := store.KeyHash(e.Key)
	ts := n.replicaSet(rs, h, &tsBuf)
	nEff, wq, rq := quorumSizes(n.cfg.N, n.cfg.W, n.cfg.R, len(rs.ids), o.c)
	// Fail fast: with fewer replicas believed alive than a phase needs,
	// waiting for the deadline could not help (the minority side of a
	// partition, once the failure detector noticed). Nothing is sent.
	ferr := n.failFast(op, ts, nil, 0, wq)
	if o.c == Linearizable {
		if rerr := n.failFast(op, ts, nil, 0, rq); rerr != nil {
			ferr = rerr // the first phase is the first to fail
		}
	}
	if ferr != nil {
		n.st8.quorumFails.Add(1)
		return ferr
	}

	if o.c == Linearizable {
		// Phase 1: read the highest version from a read quorum and write
		// above it, so this write is ordered after every write that
		// completed before it began, whatever the clocks say.
		best, has, err := n.readPhase(ctx, dl, op, e.Key, ts, rq)
		if err != nil {
			n.st8.quorumFails.Add(1)
			return err
		}
		if has {
			// After Update(B), Now is above B and, as the clock never
			// issues a timestamp twice, unique: two concurrent writes
			// through this node cannot share a version (taking B+1 by
			// hand could, and replicas would then disagree for good).
			if err := n.clock.Update(best.Version.Time); err != nil {
				return fmt.Errorf("quorum: %s %q: the highest version is ahead of this node's clock: %w", op, e.Key, err)
			}
		}
	}
	v := n.clock.Now()
	e.Version = store.Version{Time: v, Node: n.cfg.NodeID}
	if o.ttl > 0 {
		e.Expires = v.WallTime() + max(1, o.ttl.Milliseconds())
	}
	err := n.replicate(ctx, dl, op, e, ts, nil, newWriteTracker(wq, nEff))
	if err != nil && errors.Is(err, ErrQuorumNotMet) {
		n.st8.quorumFails.Add(1)
	}
	return err
}

// failFast returns a *QuorumError at once when the replicas believed
// alive (the local one always is), with the got that already count and
// leaving out those skip marks, cannot make up need; nil otherwise. Down
// members still count in the quorum sizes: only the wait is saved.
func (n *Node) failFast(op string, ts []target, skip []bool, got, need int) error {
	alive := got
	for i := range ts {
		if (skip == nil || !skip[i]) && ts[i].alive {
			alive++
		}
	}
	if alive >= need {
		return nil
	}
	var errs []error
	for i := range ts {
		if (skip == nil || !skip[i]) && !ts[i].alive {
			errs = append(errs, fmt.Errorf("%s: %w", ts[i].id, errReportedDown))
		}
	}
	return &QuorumError{Op: op, Need: need, Got: alive, Of: len(ts), Errs: errs}
}

func (n *Node) isClosed() bool {
	n.closeMu.RLock()
	defer n.closeMu.RUnlock()
	return n.closed
}

// replicate sends entry e to the targets (skipping those for which skip
// is true, which t already counts) and waits for tracker t's verdict.
func (n *Node) replicate(ctx context.Context, deadline time.Time, op string, e store.Entry, ts []target, skip []bool, t writeTracker) error {
	c := n.newBatchCall(deadline)
	defer c.release()
	var err error
	if c.req, err = encodeWrite(c.req, e); err != nil {
		return fmt.Errorf("quorum: %s %q: %w", op, e.Key, err)
	}
	c.hint, c.key, c.version, c.entry = true, e.Key, e.Version, c.req[2:]
	st := t.outcome()
	// The local replica first: it is fast, and if the store rejects the
	// entry (too large) every replica will, so nothing is sent.
	for i := range ts {
		if !ts[i].local || (skip != nil && skip[i]) {
			continue
		}
		applied, aerr := n.st.Apply(e)
		if aerr != nil {
			if errors.Is(aerr, store.ErrClosed) {
				st = t.fail(aerr)
				break
			}
			return fmt.Errorf("quorum: %s %q: %w", op, e.Key, aerr)
		}
		if !applied {
			n.st8.superseded.Add(1)
		}
		st = t.ack(!applied)
	}
	for i := range ts {
		if ts[i].local || (skip != nil && skip[i]) {
			continue
		}
		if !c.send(i, &ts[i]) {
			st = t.fail(ErrClosed)
		}
	}
	for st == pending {
		select {
		case r := <-c.res:
			if r.err != nil {
				st = t.fail(fmt.Errorf("%s: %w", ts[r.i].id, r.err))
				continue
			}
			status, _, derr := decodeWriteAck(r.b)
			if derr != nil {
				st = t.fail(fmt.Errorf("%s: %w", ts[r.i].id, derr))
				continue
			}
			if status == ackSuperseded {
				n.st8.superseded.Add(1)
			}
			st = t.ack(status == ackSuperseded)
		case <-ctx.Done():
			return t.err(op, n.waitErr(ctx))
		case <-c.cx.Done():
			return t.err(op, n.waitErr(ctx))
		}
	}
	if st == failed {
		return t.err(op, nil)
	}
	return nil
}

// Get returns the value of key: the highest version among the read
// quorum's answers. Tombstones and expired values read as ErrNotFound.
// The caller owns the returned slice.
func (n *Node) Get(ctx context.Context, key string, opts ...Option) ([]byte, error) {
	e, err := n.GetEntry(ctx, key, opts...)
	if err != nil {
		return nil, err
	}
	return e.Value, nil
}

// GetEntry is Get returning the whole winning entry: its value, version
// and absolute expiry (Entry.Expires, Unix ms, 0 for never). It follows
// the same rules as Get (replicas still receiving a range count only with
// answers completed from the range's sources, fail fast, hedging, read
// repair or Linearizable write-back). The caller
// owns Value; Key is immutable shared memory.
func (n *Node) GetEntry(ctx context.Context, key string, opts ...Option) (store.Entry, error) {
	o := n.options(opts)
	n.st8.gets.Add(1)
	rs := n.ring.Load()
	if rs == nil {
		return store.Entry{}, ErrNoRing
	}
	if n.isClosed() {
		return store.Entry{}, ErrClosed
	}
	dl := n.deadline(ctx)
	var tsBuf [maxReplicas]target
	ts := n.replicaSet(rs, store.KeyHash(key), &tsBuf)
	nEff, wq, rq := quorumSizes(n.cfg.N, n.cfg.W, n.cfg.R, len(rs.ids), o.c)
	lin := o.c == Linearizable
	if err := n.failFast("get", ts, nil, 0, rq); err != nil {
		n.st8.quorumFails.Add(1)
		return store.Entry{}, err
	}
	rt, err := n.read(ctx, dl, key, ts, rq, false)
	if err != nil {
		n.st8.quorumFails.Add(1)
		return store.Entry{}, err
	}
	if rt.has {
		_ = n.clock.Update(rt.best.Version.Time)
		if lin {
			// Write back before returning: a later read then finds this
			// version (or a newer one) on any read quorum.
			if err := n.writeBack(ctx, dl, &rt, ts, wq, nEff); err != nil {
				n.st8.quorumFails.Add(1)
				return store.Entry{}, err
			}
		} else if n.cfg.ReadRepair != RepairOff {
			n.repair(ctx, dl, &rt, ts, n.cfg.ReadRepair == RepairSync)
		}
	}
	if !rt.has || !live(rt.best, time.Now().UnixMilli()) {
		return store.Entry{}, ErrNotFound
	}
	e := rt.best
	if rt.localBest {
		e.Value = append([]byte(nil), e.Value...) // the store's memory is shared
	}
	return e, nil
}

// readResult is a finished read.
type readResult struct {
	readTracker
	localBest bool // best came from the local store (shared memory)
}

// readPhase is the first phase of a linearizable write: the highest
// version on a read quorum.
func (n *Node) readPhase(ctx context.Context, deadline time.Time, op, key string, ts []target, rq int) (store.Entry, bool, error) {
	rt, err := n.read(ctx, deadline, key, ts, rq, true)
	if err != nil {
		if qe, ok := err.(*QuorumError); ok {
			qe.Op = op
		}
		return store.Entry{}, false, err
	}
	return rt.best, rt.has, nil
}

// read runs a readTracker to its verdict.
func (n *Node) read(ctx context.Context, deadline time.Time, key string, ts []target, rq int, versionOnly bool) (readResult, error) {
	var orderBuf [maxReplicas]int
	order := n.readOrder(ts, rq, orderBuf[:0])
	res := readResult{readTracker: newReadTracker(rq, order)}
	rt := &res.readTracker
	st := rt.outcome()
	var c *batchCall
	var deadlineC <-chan struct{}
	var resC <-chan reply // nil (never ready) until a peer is asked
	var timerC <-chan time.Time
	// hedgeRest > 0: the timer runs for the stall check (stallAfter of
	// the replica asked last); the hedge comes hedgeRest later unless an
	// asked replica is stalled by then.
	var hedgeRest time.Duration
	arm := func(t *target) {
		d := n.hedgeDelay(*t)
		hedgeRest = 0
		if s := n.stallAfter(t.rtt); t.p != nil && n.cfg.StallAfter >= 0 && s < d {
			d, hedgeRest = s, d-s
		}
		timerC = c.startTimer(d)
	}
	defer func() {
		if c != nil {
			c.release()
		}
	}()
	var flags byte
	if versionOnly {
		flags = readVersionOnly
	}
	// ask asks target i: the local store at once, a peer in a goroutine.
	ask := func(i int) {
		for i >= 0 {
			if ts[i].local && !n.moves.receiving(store.KeyHash(key)) {
				e, found := n.st.Read(key)
				var next int
				st, next = rt.reply(i, e, found, n.moves.receiving(store.KeyHash(key)))
				if found && rt.best.Version == e.Version {
					res.localBest = true
				}
				i = next
				continue
			}
			if c == nil {
				c = n.newBatchCall(deadline)
				c.req = encodeRead(c.req, key, flags)
				deadlineC, resC = c.cx.Done(), c.res
			}
			var sent bool
			if ts[i].local { // receiving the key's range: see moveread.go
				sent = c.sendLocal(i, key, versionOnly)
			} else {
				sent = c.send(i, &ts[i])
			}
			if !sent {
				st, i = rt.fail(i, ErrClosed)
				continue
			}
			if timerC == nil {
				arm(&ts[i])
			}
			return
		}
	}
	for _, i := range rt.start() {
		ask(i)
	}
	for st == pending {
		select {
		case r := <-resC:
			var next int
			if r.err != nil {
				st, next = rt.fail(r.i, fmt.Errorf("%s: %w", ts[r.i].id, r.err))
			} else if rr, derr := decodeReadReply(r.b); derr != nil {
				st, next = rt.fail(r.i, fmt.Errorf("%s: %w", ts[r.i].id, derr))
			} else {
				prev := rt.best.Version
				st, next = rt.reply(r.i, rr.e, rr.found, rr.pending)
				if rt.best.Version != prev {
					res.localBest = false
				}
			}
			ask(next)
		case <-timerC:
			if hedgeRest > 0 {
				if !n.askedStalled(rt, ts) {
					timerC, hedgeRest = c.startTimer(hedgeRest), 0
					continue
				}
				n.st8.stallHedges.Add(1)
			}
			i := rt.hedge()
			if i >= 0 {
				arm(&ts[i])
			}
			ask(i)
		case <-ctx.Done():
			return res, rt.err("get", n.waitErr(ctx))
		case <-deadlineC:
			return res, rt.err("get", n.waitErr(ctx))
		}
	}
	if st == failed {
		return res, rt.err("get", nil)
	}
	return res, nil
}

func (n *Node) hedgeDelay(t target) time.Duration {
	return max(n.cfg.HedgeDelay, 3*t.rtt)
}

// writeBack is the second phase of a linearizable read: the winning entry
// goes to a write quorum; replicas that answered with it already count.
func (n *Node) writeBack(ctx context.Context, deadline time.Time, rt *readResult, ts []target, wq, nEff int) error {
	t := newWriteTracker(wq, nEff)
	var skip [maxReplicas]bool
	for i := range ts {
		if rt.current(i) {
			skip[i] = true
			t.ack(false)
		}
	}
	if t.outcome() == done {
		return nil
	}
	if err := n.failFast("get", ts, skip[:len(ts)], t.acks, wq); err != nil {
		return err
	}
	n.st8.readRepairs.Add(1)
	return n.replicate(ctx, deadline, "get", rt.best, ts, skip[:len(ts)], t)
}

// repair sends the winning entry to the replicas that answered with an
// older one, in the background unless sync.
func (n *Node) repair(ctx context.Context, deadline time.Time, rt *readResult, ts []target, sync bool) {
	var buf [maxReplicas]int
	stale := rt.repairs(buf[:0])
	if len(stale) == 0 {
		return
	}
	n.st8.readRepairs.Add(uint64(len(stale)))
	var skip [maxReplicas]bool
	for i := range ts {
		skip[i] = true
	}
	for _, i := range stale {
		skip[i] = false
	}
	// The repair needs all of them, but failures only become hints.
	t := newWriteTracker(len(stale), len(stale))
	if sync {
		_ = n.replicate(ctx, deadline, "repair", rt.best, ts, skip[:len(ts)], t)
		return
	}
	if !n.enter(1) {
		return
	}
	e := rt.best
	if !rt.localBest {
		// Get hands this value to its caller, who may change it (shared
		// store memory is immutable: no copy needed).
		e.Value = append([]byte(nil), e.Value...)
	}
	tsCopy := append([]target(nil), ts...)
	go func() {
		defer n.wg.Done()
		_ = n.replicate(n.ctx, deadline, "repair", e, tsCopy, skip[:len(tsCopy)], t)
	}()
}
