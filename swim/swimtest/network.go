// Package swimtest is an in-memory network for memberlist, for tests of
// package swim and of code built on it.
//
// Every transport registered on a Network gets a 127.0.0.1:port address.
// Packets and streams never touch the operating system: packets are
// delivered through channels (after a timer when delayed) and streams are
// net.Pipe pairs, whose blocking operations and deadlines are channels and
// timers. So the network works inside a testing/synctest bubble, where a
// minute of cluster time takes milliseconds, provided the Network and its
// transports are created inside the bubble.
//
// Faults: packet loss (which also makes stream dials time out, like a lost
// SYN), per-link and per-node delay, partitions (dials time out), stalls
// of the whole network (everything waits until the stall ends), and
// crashes (closing a transport: its connections break, dials to it are
// refused, packets to it vanish). Bytes are counted per transport.
package swimtest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Network is an in-memory network. Its methods are safe for concurrent
// use.
type Network struct {
	mu         sync.Mutex
	rng        *rand.Rand
	transports map[string]*Transport
	loss       float64
	latency    time.Duration
	linkDelay  map[[2]string]time.Duration
	nodeDelay  map[string]time.Duration
	group      map[string]int // partition group; absent means group 0
	stallUntil time.Time      // see Stall
	nextPort   int
}

// NewNetwork returns an empty network whose random choices (packet loss)
// follow seed.
func NewNetwork(seed uint64) *Network {
	return &Network{
		rng:        rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		transports: make(map[string]*Transport),
		linkDelay:  make(map[[2]string]time.Duration),
		nodeDelay:  make(map[string]time.Duration),
		group:      make(map[string]int),
		latency:    100 * time.Microsecond,
		nextPort:   20000,
	}
}

// NewTransport registers a transport at 127.0.0.1 with a fresh port.
func (nw *Network) NewTransport() *Transport {
	nw.mu.Lock()
	port := nw.nextPort
	nw.nextPort++
	nw.mu.Unlock()
	t, err := nw.Listen(fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		panic(err) // fresh port: cannot be taken
	}
	return t
}

// Listen registers a transport at addr (127.0.0.1:port). The address may
// be reused once the previous transport at it was shut down, which is how
// a test restarts a member in place.
func (nw *Network) Listen(addr string) (*Transport, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	nw.mu.Lock()
	defer nw.mu.Unlock()
	if old, ok := nw.transports[addr]; ok && !old.isClosed() {
		return nil, fmt.Errorf("swimtest: %s already in use", addr)
	}
	t := &Transport{
		nw:      nw,
		addr:    ap,
		packets: make(chan *memberlist.Packet, 1024),
		streams: make(chan net.Conn, 64),
		conns:   make(map[*conn]struct{}),
		done:    make(chan struct{}),
	}
	nw.transports[addr] = t
	return t, nil
}

// SetLoss sets the probability in [0, 1] that a packet is lost or a stream
// dial times out.
func (nw *Network) SetLoss(p float64) {
	nw.mu.Lock()
	nw.loss = p
	nw.mu.Unlock()
}

// SetLatency sets the one-way delay of every packet (default 100µs).
func (nw *Network) SetLatency(d time.Duration) {
	nw.mu.Lock()
	nw.latency = d
	nw.mu.Unlock()
}

// SetLinkDelay adds d to the one-way delay between a and b, both ways.
func (nw *Network) SetLinkDelay(a, b string, d time.Duration) {
	nw.mu.Lock()
	nw.linkDelay[linkKey(a, b)] = d
	nw.mu.Unlock()
}

// SetNodeDelay adds d to everything delivered to addr (packets and stream
// dials): a slow or overloaded member.
func (nw *Network) SetNodeDelay(addr string, d time.Duration) {
	nw.mu.Lock()
	nw.nodeDelay[addr] = d
	nw.mu.Unlock()
}

// Stall holds everything sent during the next d (packets and stream
// dials) until d has passed, then delivers it with the usual delay: like
// a host on which every process was descheduled for d, whose packets wait
// in socket buffers. Only the network stalls; the members' own timers
// keep running, so in a test they fire during the stall instead of all at
// once after it.
func (nw *Network) Stall(d time.Duration) {
	nw.mu.Lock()
	nw.stallUntil = time.Now().Add(d)
	nw.mu.Unlock()
}

// Partition splits the network: addresses in different groups cannot
// reach each other; addresses in no group form one more group together.
func (nw *Network) Partition(groups ...[]string) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	clear(nw.group)
	for i, g := range groups {
		for _, a := range g {
			nw.group[a] = i + 1
		}
	}
}

// Heal removes every partition.
func (nw *Network) Heal() {
	nw.mu.Lock()
	clear(nw.group)
	nw.mu.Unlock()
}

// Stats is what one transport sent.
type Stats struct {
	Packets     int64
	PacketBytes int64
	StreamBytes int64
	Dials       int64
}

// Bytes returns PacketBytes + StreamBytes.
func (s Stats) Bytes() int64 { return s.PacketBytes + s.StreamBytes }

// Stats returns what the transport at addr sent so far.
func (nw *Network) Stats(addr string) Stats {
	nw.mu.Lock()
	t := nw.transports[addr]
	nw.mu.Unlock()
	if t == nil {
		return Stats{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}

// TotalStats sums Stats over every transport ever registered.
func (nw *Network) TotalStats() Stats {
	nw.mu.Lock()
	ts := make([]*Transport, 0, len(nw.transports))
	for _, t := range nw.transports {
		ts = append(ts, t)
	}
	nw.mu.Unlock()
	var s Stats
	for _, t := range ts {
		t.mu.Lock()
		s.Packets += t.stats.Packets
		s.PacketBytes += t.stats.PacketBytes
		s.StreamBytes += t.stats.StreamBytes
		s.Dials += t.stats.Dials
		t.mu.Unlock()
	}
	return s
}

func linkKey(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// route decides the fate of one packet or dial from src to dst.
func (nw *Network) route(src, dst string) (t *Transport, delay time.Duration, lost, blocked bool) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	t = nw.transports[dst]
	if nw.group[src] != nw.group[dst] {
		return t, 0, false, true
	}
	lost = nw.loss > 0 && nw.rng.Float64() < nw.loss
	delay = nw.latency + nw.linkDelay[linkKey(src, dst)] + nw.nodeDelay[dst]
	if wait := time.Until(nw.stallUntil); wait > 0 {
		delay += wait
	}
	return t, delay, lost, false
}

// Transport is a memberlist.NodeAwareTransport on a Network.
type Transport struct {
	nw      *Network
	addr    netip.AddrPort
	packets chan *memberlist.Packet
	streams chan net.Conn
	done    chan struct{}

	mu     sync.Mutex
	closed bool
	conns  map[*conn]struct{}
	stats  Stats
}

var _ memberlist.NodeAwareTransport = (*Transport)(nil)

// Addr returns the transport's address, 127.0.0.1:port.
func (t *Transport) Addr() string { return t.addr.String() }

func (t *Transport) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// FinalAdvertiseAddr implements memberlist.Transport.
func (t *Transport) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	return net.IP(t.addr.Addr().AsSlice()), int(t.addr.Port()), nil
}

// WriteTo implements memberlist.Transport.
func (t *Transport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress implements memberlist.NodeAwareTransport. Like UDP, it
// never blocks and silently loses what cannot be delivered.
func (t *Transport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	now := time.Now()
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return now, net.ErrClosed
	}
	t.stats.Packets++
	t.stats.PacketBytes += int64(len(b))
	t.mu.Unlock()
	dst, delay, lost, blocked := t.nw.route(t.Addr(), a.Addr)
	if dst == nil || lost || blocked {
		return now, nil
	}
	p := &memberlist.Packet{
		Buf:  append([]byte(nil), b...),
		From: &net.UDPAddr{IP: net.IP(t.addr.Addr().AsSlice()), Port: int(t.addr.Port())},
	}
	if delay <= 0 {
		dst.deliver(p)
	} else {
		time.AfterFunc(delay, func() { dst.deliver(p) })
	}
	return now, nil
}

func (t *Transport) deliver(p *memberlist.Packet) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	p.Timestamp = time.Now()
	select {
	case t.packets <- p:
	default: // receive buffer full: lost, like UDP
	}
}

// PacketCh implements memberlist.Transport.
func (t *Transport) PacketCh() <-chan *memberlist.Packet { return t.packets }

// StreamCh implements memberlist.Transport.
func (t *Transport) StreamCh() <-chan net.Conn { return t.streams }

// DialTimeout implements memberlist.Transport.
func (t *Transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

var errRefused = errors.New("swimtest: connection refused")

// DialAddressTimeout implements memberlist.NodeAwareTransport. A dial to
// a crashed or unknown address is refused at once; across a partition, or
// when the SYN is "lost", it times out.
func (t *Transport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, net.ErrClosed
	}
	t.stats.Dials++
	t.mu.Unlock()
	dst, delay, lost, blocked := t.nw.route(t.Addr(), a.Addr)
	if lost || blocked {
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		select {
		case <-timer.C:
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}
		case <-t.done:
			return nil, net.ErrClosed
		}
	}
	if delay > 0 {
		if timeout > 0 && delay >= timeout {
			delay = timeout
		}
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-t.done:
			timer.Stop()
			return nil, net.ErrClosed
		}
		if timeout > 0 && delay >= timeout {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}
		}
	}
	if dst == nil {
		return nil, errRefused
	}
	c1, c2 := net.Pipe()
	local := &net.TCPAddr{IP: net.IP(t.addr.Addr().AsSlice()), Port: int(t.addr.Port())}
	remote := &net.TCPAddr{IP: net.IP(dst.addr.Addr().AsSlice()), Port: int(dst.addr.Port())}
	client := &conn{Conn: c1, local: local, remote: remote, owner: t}
	server := &conn{Conn: c2, local: remote, remote: local, owner: dst}
	if !dst.accept(server) {
		c1.Close()
		c2.Close()
		return nil, errRefused
	}
	if !t.track(client) {
		client.Close()
		return nil, net.ErrClosed
	}
	return client, nil
}

func (t *Transport) track(c *conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *Transport) accept(c *conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	select {
	case t.streams <- c:
		t.conns[c] = struct{}{}
		return true
	default:
		return false
	}
}

// Shutdown implements memberlist.Transport. It is also how a test crashes
// a member: its connections break and it receives nothing more.
func (t *Transport) Shutdown() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	close(t.done)
	conns := make([]*conn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	for {
		select {
		case c := <-t.streams:
			c.Close()
		default:
			return nil
		}
	}
}

// conn is one end of a stream: a net.Pipe end with TCP addresses, byte
// counting and removal from its transport on Close.
type conn struct {
	net.Conn
	local, remote net.Addr
	owner         *Transport
}

func (c *conn) LocalAddr() net.Addr  { return c.local }
func (c *conn) RemoteAddr() net.Addr { return c.remote }

func (c *conn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.owner.mu.Lock()
	c.owner.stats.StreamBytes += int64(n)
	c.owner.mu.Unlock()
	return n, err
}

func (c *conn) Close() error {
	c.owner.mu.Lock()
	delete(c.owner.conns, c)
	c.owner.mu.Unlock()
	return c.Conn.Close()
}
