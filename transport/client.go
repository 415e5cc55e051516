package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
)

// Connection error codes sent in CONNECTION_CLOSE.
const (
	codeClosing  quic.ApplicationErrorCode = 0
	codeProtocol quic.ApplicationErrorCode = 1
)

// Call sends req to the Transport listening on addr ("ip:port", as from
// Addr().String() or Peer.Addr) and returns its reply. It blocks until the
// reply arrives, the call fails, or ctx ends (then it returns ctx.Err()
// wrapped; the request may still be delivered). req is not retained.
//
// The first call to a peer dials a connection, which later calls share;
// after a failure the next call redials, with backoff. At most
// Config.MaxInFlightPerPeer calls per peer wait for replies: Call blocks for
// a slot. Errors: ErrClosed, ErrMessageTooLarge, ErrUnreachable,
// ErrConnectionLost, *RemoteError, or ctx's error.
func (t *Transport) Call(ctx context.Context, addr string, req []byte) ([]byte, error) {
	p, err := t.target(addr, req)
	if err != nil {
		return nil, err
	}
	return t.callPeer(ctx, p, req)
}

// target checks req and returns the state for addr: the start of Call and Go.
func (t *Transport) target(addr string, req []byte) (*peer, error) {
	if len(req) > t.cfg.MaxMessageSize {
		return nil, fmt.Errorf("%w: request of %d bytes, maximum %d", ErrMessageTooLarge, len(req), t.cfg.MaxMessageSize)
	}
	if t.closed() {
		return nil, ErrClosed
	}
	return t.peer(addr)
}

// callPeer is Call once target has passed.
func (t *Transport) callPeer(ctx context.Context, p *peer, req []byte) ([]byte, error) {
	select {
	case p.slots <- struct{}{}:
	default:
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("transport: call %s: waiting for a free slot: %w", p.addr, ctx.Err())
		case <-t.ctx.Done():
			return nil, ErrClosed
		}
	}
	defer func() { <-p.slots }()

	cc, err := p.conn(ctx)
	if err != nil {
		return nil, err
	}
	return cc.call(ctx, req)
}

// Go starts the call Call(ctx, addr, req) and returns without waiting:
// done receives its reply and error exactly once, possibly before Go
// returns, otherwise on a goroutine of the Transport (the one that reads
// replies, or the one that ends ctx). done must return promptly and must
// not call the Transport. req is not retained once Go returns; ctx must
// stay usable until done is called. A context with an AfterFunc method
// (see context.AfterFunc) is watched through it.
//
// When the connection to addr is up and a slot is free, Go costs no
// goroutine: the request is queued on the connection and the reply is
// handed to done by the reading goroutine. Otherwise it runs Call on a
// goroutine of its own.
func (t *Transport) Go(ctx context.Context, addr string, req []byte, done func([]byte, error)) {
	p, err := t.target(addr, req)
	if err != nil {
		done(nil, err)
		return
	}
	if cc := p.cur.Load(); cc != nil && !cc.dead.Load() {
		select {
		case p.slots <- struct{}{}:
			cc.start(ctx, req, done)
			return
		default:
		}
	}
	req = bytes.Clone(req)
	if !t.spawn(func() { done(t.callPeer(ctx, p, req)) }) {
		done(nil, ErrClosed)
	}
}

// afterFuncer is a context with its own AfterFunc (as context.AfterFunc
// looks for), which saves the allocations of context.AfterFunc.
type afterFuncer interface {
	AfterFunc(func()) func() bool
}

// start is Go on a live connection, with a slot taken (freed by finish).
func (cc *clientConn) start(ctx context.Context, req []byte, done func([]byte, error)) {
	id := cc.nextID.Add(1)
	cs := cc.streams[id%uint64(len(cc.streams))]
	c := cc.p.t.getCall()
	c.fn, c.slots = done, cc.p.slots
	if ctx.Done() != nil {
		// Set before c is published in pending: the reader reads c.stop.
		c.cs, c.id, c.ctx = cs, id, ctx
		if c.cancel == nil {
			c.cancel = c.ctxDone // made once per pooled call
		}
		if a, ok := ctx.(afterFuncer); ok {
			c.stop = a.AfterFunc(c.cancel)
		} else {
			c.stop = context.AfterFunc(ctx, c.cancel)
		}
	}
	cs.mu.Lock()
	if cs.err != nil {
		err := cs.err
		cs.mu.Unlock()
		c.finish(cc.p.t, nil, err)
		return
	}
	cs.pending[id] = c
	cs.mu.Unlock()
	if ctx.Err() != nil {
		// ctx ended before c was in pending: its AfterFunc found nothing.
		if c := cs.take(id); c != nil {
			c.finish(cc.p.t, nil, fmt.Errorf("transport: call %s: %w", cc.p.addr, ctx.Err()))
		}
		return
	}
	if err := cs.tx.send(frameRequest, id, req); err != nil {
		if c := cs.take(id); c != nil {
			c.finish(cc.p.t, nil, cc.callErr(err))
		}
		cc.fail(err)
	}
}

// peer returns the state for addr, creating it on first use.
func (t *Transport) peer(addr string) (*peer, error) {
	if v, ok := t.peers.Load(addr); ok {
		return v.(*peer), nil
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("transport: peer address %q: %w", addr, err)
	}
	p := &peer{
		t:     t,
		addr:  addr,
		udp:   net.UDPAddrFromAddrPort(ap),
		slots: make(chan struct{}, t.cfg.MaxInFlightPerPeer),
	}
	v, loaded := t.peers.LoadOrStore(addr, p)
	if !loaded && t.closed() {
		// Close may have ranged over peers before this one was stored.
		p.close()
	}
	return v.(*peer), nil
}

// peer is the outgoing side of the link to one address. Calls only travel on
// connections this side dialled; connections a peer dials to us only serve
// its calls. So two nodes that dial each other at once simply own one
// connection each, one per direction, and nothing is torn down or leaked.
type peer struct {
	t     *Transport
	addr  string
	udp   *net.UDPAddr
	slots chan struct{} // in-flight call semaphore

	cur atomic.Pointer[clientConn] // live connection, if any

	mu       sync.Mutex
	dialing  chan struct{} // closed when the dial in progress ends
	lastErr  error
	failures int
	retryAt  time.Time
	isClosed bool
}

// conn returns the live connection, dialling if there is none.
func (p *peer) conn(ctx context.Context) (*clientConn, error) {
	for {
		if cc := p.cur.Load(); cc != nil && !cc.dead.Load() {
			return cc, nil
		}
		p.mu.Lock()
		if p.isClosed {
			p.mu.Unlock()
			return nil, ErrClosed
		}
		if cc := p.cur.Load(); cc != nil && !cc.dead.Load() {
			p.mu.Unlock()
			return cc, nil
		}
		if p.dialing == nil {
			// Fail fast rather than wait for a backoff that outlives ctx.
			if dl, ok := ctx.Deadline(); ok && p.lastErr != nil && dl.Before(p.retryAt) {
				err := p.lastErr
				p.mu.Unlock()
				return nil, fmt.Errorf("%w: %s: %w (next attempt in %v)", ErrUnreachable, p.addr, err, time.Until(p.retryAt).Round(time.Millisecond))
			}
			done, wait := make(chan struct{}), time.Until(p.retryAt)
			if !p.t.spawn(func() { p.dial(done, wait) }) {
				p.mu.Unlock()
				return nil, ErrClosed
			}
			p.dialing = done
		}
		done := p.dialing
		p.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, fmt.Errorf("transport: call %s: connecting: %w", p.addr, ctx.Err())
		}
		p.mu.Lock()
		err := p.lastErr
		p.mu.Unlock()
		if cc := p.cur.Load(); cc == nil || cc.dead.Load() {
			if p.t.closed() {
				return nil, ErrClosed
			}
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrUnreachable, p.addr, err)
			}
		}
	}
}

// dial runs one connection attempt on its own goroutine, so a caller whose
// ctx ends early does not abort it for the others.
func (p *peer) dial(done chan struct{}, wait time.Duration) {
	t := p.t
	var cc *clientConn
	err := func() error {
		if wait > 0 {
			tm := time.NewTimer(wait)
			defer tm.Stop()
			select {
			case <-tm.C:
			case <-t.ctx.Done():
				return ErrClosed
			}
		}
		ctx, cancel := context.WithTimeout(t.ctx, t.cfg.DialTimeout)
		defer cancel()
		qc, err := t.qt.Dial(ctx, p.udp, t.clientTLS, t.qconf)
		if err != nil {
			return err
		}
		cc, err = newClientConn(p, qc)
		return err
	}()
	p.mu.Lock()
	if err == nil && p.isClosed {
		cc.fail(ErrClosed)
		err = ErrClosed
	}
	if err != nil {
		p.failures++
		backoff := t.cfg.ReconnectBackoff << min(p.failures-1, 20)
		backoff = min(backoff, t.cfg.MaxReconnectBackoff)
		p.retryAt = time.Now().Add(backoff)
		p.lastErr = err
		t.log.Debug("transport: dial failed", "peer", p.addr, "err", err, "failures", p.failures)
	} else {
		p.failures = 0
		p.lastErr = nil
		p.retryAt = time.Time{}
		p.cur.Store(cc)
	}
	p.dialing = nil
	close(done)
	p.mu.Unlock()
}

func (p *peer) close() {
	p.mu.Lock()
	p.isClosed = true
	p.mu.Unlock()
	if cc := p.cur.Load(); cc != nil {
		cc.fail(ErrClosed)
	}
}

// clientConn is a dialled connection with its request streams.
type clientConn struct {
	p       *peer
	qc      *quic.Conn
	streams []*clientStream
	nextID  atomic.Uint64
	dead    atomic.Bool
	once    sync.Once
}

type clientStream struct {
	cc *clientConn
	s  *quic.Stream
	tx *sender

	mu      sync.Mutex
	pending map[uint64]*call
	err     error // set once the stream is dead; no more registrations
}

// call is one outstanding request. Pooled: the reader delivers into it and
// signals done, or, for Go, hands the reply to fn (see finish).
type call struct {
	done  chan struct{}
	reply []byte
	err   error

	// Go's calls only.
	fn     func([]byte, error)
	stop   func() bool   // stops the watch on ctx
	slots  chan struct{} // the peer's, to free a slot
	cancel func()        // c.ctxDone, the watch
	cs     *clientStream // where the watch finds the call
	id     uint64
	ctx    context.Context
}

// ctxDone is the watch on a Go call's ctx: it fails the call if it is
// still pending.
func (c *call) ctxDone() {
	if p := c.cs.take(c.id); p != nil {
		cc := c.cs.cc
		p.finish(cc.p.t, nil, fmt.Errorf("transport: call %s: %w", cc.p.addr, c.ctx.Err()))
	}
}

// finish completes a call taken from pending: a Go call is handed to its
// fn (the slot freed, the call recycled), a Call woken.
func (c *call) finish(t *Transport, reply []byte, err error) {
	if c.fn == nil {
		c.reply, c.err = reply, err
		c.done <- struct{}{}
		return
	}
	fn, stop, slots := c.fn, c.stop, c.slots
	c.fn, c.stop, c.slots = nil, nil, nil
	// A watch that already runs finds c gone from pending, but it reads
	// c's fields: then c is left to the GC instead of reused.
	if stop == nil || stop() {
		c.cs, c.ctx = nil, nil
		t.calls.Put(c)
	}
	<-slots
	fn(reply, err)
}

// getCall takes a call from the Transport's pool. The pool is per Transport,
// not global: no shared state between nodes in one process, and a Transport
// created in a synctest bubble only ever sees channels made in that bubble.
func (t *Transport) getCall() *call {
	if c, ok := t.calls.Get().(*call); ok {
		return c
	}
	return &call{done: make(chan struct{}, 1)}
}

func newClientConn(p *peer, qc *quic.Conn) (*clientConn, error) {
	n := p.t.cfg.StreamsPerConn
	cc := &clientConn{p: p, qc: qc, streams: make([]*clientStream, n)}
	for i := range cc.streams {
		s, err := qc.OpenStream()
		if err != nil {
			qc.CloseWithError(codeClosing, "")
			return nil, err
		}
		cc.streams[i] = &clientStream{
			cc:      cc,
			s:       s,
			tx:      newSender(s, p.t.spawn),
			pending: make(map[uint64]*call),
		}
	}
	for _, cs := range cc.streams {
		p.t.wg.Add(1)
		go cs.readLoop()
	}
	return cc, nil
}

func (cc *clientConn) call(ctx context.Context, req []byte) ([]byte, error) {
	id := cc.nextID.Add(1)
	cs := cc.streams[id%uint64(len(cc.streams))]
	c := cc.p.t.getCall()
	cs.mu.Lock()
	if cs.err != nil {
		err := cs.err
		cs.mu.Unlock()
		cc.p.t.calls.Put(c)
		return nil, err
	}
	cs.pending[id] = c
	cs.mu.Unlock()
	if err := cs.tx.send(frameRequest, id, req); err != nil {
		if cs.take(id) != nil {
			cc.p.t.calls.Put(c)
		}
		cc.fail(err)
		return nil, cc.callErr(err)
	}
	select {
	case <-c.done:
		reply, err := c.reply, c.err
		c.reply, c.err = nil, nil
		cc.p.t.calls.Put(c)
		return reply, err
	case <-ctx.Done():
		if cs.take(id) != nil {
			cc.p.t.calls.Put(c)
		}
		return nil, fmt.Errorf("transport: call %s: %w", cc.p.addr, ctx.Err())
	}
}

func (cc *clientConn) callErr(err error) error {
	if cc.p.t.closed() {
		return ErrClosed
	}
	return fmt.Errorf("%w: %s: %w", ErrConnectionLost, cc.p.addr, err)
}

// take unregisters a call and returns it; nil means the reader (or the
// caller giving up) already took it.
func (cs *clientStream) take(id uint64) *call {
	cs.mu.Lock()
	c := cs.pending[id]
	delete(cs.pending, id)
	cs.mu.Unlock()
	return c
}

func (cs *clientStream) readLoop() {
	t := cs.cc.p.t
	defer t.wg.Done()
	fr := newFrameReader(cs.s, cs.cc.p.t.cfg.MaxMessageSize)
	for {
		typ, id, payload, err := fr.next()
		if err != nil {
			var tl *tooLargeError
			if errors.As(err, &tl) && tl.typ != frameRequest {
				if c := cs.take(id); c != nil {
					c.finish(t, nil, fmt.Errorf("%w: reply of %d bytes, maximum %d", ErrMessageTooLarge, tl.n, fr.max))
				}
				continue
			}
			cs.cc.fail(err)
			return
		}
		var reply []byte
		var rerr error
		switch typ {
		case frameReply:
			reply = payload
		case frameError:
			rerr = decodeRemoteError(payload)
		default:
			cs.cc.fail(fmt.Errorf("%w: request frame on a dialled connection", errProtocol))
			return
		}
		if c := cs.take(id); c != nil {
			c.finish(t, reply, rerr)
		}
	}
}

// fail closes the connection and fails every pending call with an error
// derived from cause. The peer will dial a new connection on its next call.
func (cc *clientConn) fail(cause error) {
	cc.once.Do(func() {
		cc.dead.Store(true)
		cc.p.cur.CompareAndSwap(cc, nil)
		err := cc.callErr(cause)
		if errors.Is(cause, ErrClosed) {
			err = ErrClosed
		}
		if errors.Is(cause, errProtocol) {
			cc.p.t.log.Warn("transport: protocol error", "peer", cc.p.addr, "err", cause)
			cc.qc.CloseWithError(codeProtocol, "protocol error")
		} else {
			cc.qc.CloseWithError(codeClosing, "")
		}
		for _, cs := range cc.streams {
			cs.tx.fail(err)
			cs.mu.Lock()
			cs.err = err
			pending := cs.pending
			cs.pending = nil
			cs.mu.Unlock()
			for _, c := range pending {
				c.finish(cc.p.t, nil, err)
			}
		}
	})
}
