package faultnet

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// inboxSize is how many datagrams a socket queues before dropping, like a
// full UDP receive buffer.
const inboxSize = 2048

// Network is an in-memory datagram network. Its sockets (PacketConn) have
// 127.0.0.1 addresses of their own and reach only each other; Faults apply per
// directed link (SetLinkFaults) or to every link (SetFaults). It needs no
// real sockets and waits only on channels and timers, so it works inside a
// testing/synctest bubble (create it inside the bubble).
type Network struct {
	mu       sync.Mutex
	rng      *rand.Rand
	def      Faults
	links    map[[2]netip.AddrPort]Faults
	socks    map[netip.AddrPort]*PacketConn
	nextPort uint16
}

// NewNetwork returns an empty network; seed drives drops and jitter.
func NewNetwork(seed uint64) *Network {
	return &Network{
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		links:    make(map[[2]netip.AddrPort]Faults),
		socks:    make(map[netip.AddrPort]*PacketConn),
		nextPort: 10000,
	}
}

// Listen opens a socket on addr ("127.0.0.1:0" picks a free port). A port
// can be reused once its socket is closed, which is how a test restarts a
// node on the same address.
func (n *Network) Listen(addr string) (*PacketConn, error) {
	ap, err := parse(addr)
	if err != nil {
		return nil, fmt.Errorf("faultnet: listen %q: %w", addr, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if ap.Port() == 0 {
		for {
			n.nextPort++
			if n.nextPort == 0 {
				n.nextPort = 10001
			}
			cand := netip.AddrPortFrom(ap.Addr(), n.nextPort)
			if _, ok := n.socks[cand]; !ok {
				ap = cand
				break
			}
		}
	} else if _, ok := n.socks[ap]; ok {
		return nil, fmt.Errorf("faultnet: listen %s: address in use", ap)
	}
	pc := &PacketConn{
		net:   n,
		addr:  net.UDPAddrFromAddrPort(ap),
		ap:    ap,
		inbox: make(chan datagram, inboxSize),
		done:  make(chan struct{}),
		rd:    newDeadline(),
	}
	n.socks[ap] = pc
	return pc, nil
}

// SetFaults sets the faults of every link without its own.
func (n *Network) SetFaults(f Faults) {
	n.mu.Lock()
	n.def = f
	n.mu.Unlock()
}

// SetLinkFaults sets the faults for datagrams from one address to another
// (one direction); a zero Faults removes them.
func (n *Network) SetLinkFaults(from, to string, f Faults) error {
	a, err := parse(from)
	if err != nil {
		return err
	}
	b, err := parse(to)
	if err != nil {
		return err
	}
	n.mu.Lock()
	if f.zero() {
		delete(n.links, [2]netip.AddrPort{a, b})
	} else {
		n.links[[2]netip.AddrPort{a, b}] = f
	}
	n.mu.Unlock()
	return nil
}

// Partition blackholes the links between a and b in both directions.
func (n *Network) Partition(a, b string) error {
	if err := n.SetLinkFaults(a, b, Faults{Blackhole: true}); err != nil {
		return err
	}
	return n.SetLinkFaults(b, a, Faults{Blackhole: true})
}

// Heal removes the faults of the links between a and b in both directions.
func (n *Network) Heal(a, b string) error {
	if err := n.SetLinkFaults(a, b, Faults{}); err != nil {
		return err
	}
	return n.SetLinkFaults(b, a, Faults{})
}

type datagram struct {
	b    []byte
	from *net.UDPAddr
}

// send routes one datagram; it never blocks.
func (n *Network) send(from *PacketConn, p []byte, to net.Addr) error {
	ap, ok := key(to)
	if !ok {
		return fmt.Errorf("faultnet: bad address %v", to)
	}
	n.mu.Lock()
	f, ok := n.links[[2]netip.AddrPort{from.ap, ap}]
	if !ok {
		f = n.def
	}
	drop, delay := f.decide(n.rng)
	dst := n.socks[ap]
	n.mu.Unlock()
	if drop || dst == nil {
		return nil
	}
	d := datagram{b: append([]byte(nil), p...), from: from.addr}
	if delay <= 0 {
		dst.deliver(d)
		return nil
	}
	time.AfterFunc(delay, func() { dst.deliver(d) })
	return nil
}

// PacketConn is a socket of a Network.
type PacketConn struct {
	net       *Network
	addr      *net.UDPAddr
	ap        netip.AddrPort
	inbox     chan datagram
	done      chan struct{}
	closeOnce sync.Once
	rd        *deadline
}

var _ net.PacketConn = (*PacketConn)(nil)

func (c *PacketConn) deliver(d datagram) {
	select {
	case <-c.done:
	case c.inbox <- d:
	default: // full: dropped, like an overflowing receive buffer
	}
}

// ReadFrom waits for the next datagram, the read deadline or Close.
func (c *PacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	select {
	case <-c.done:
		return 0, nil, net.ErrClosed
	default:
	}
	select {
	case d := <-c.inbox:
		return copy(p, d.b), d.from, nil
	case <-c.done:
		return 0, nil, net.ErrClosed
	case <-c.rd.wait():
		return 0, nil, os.ErrDeadlineExceeded
	}
}

// WriteTo sends p to addr through the network's faults; it never blocks.
func (c *PacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	select {
	case <-c.done:
		return 0, net.ErrClosed
	default:
	}
	if err := c.net.send(c, p, addr); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close releases the address; pending datagrams are dropped.
func (c *PacketConn) Close() error {
	err := errors.New("faultnet: already closed")
	c.closeOnce.Do(func() {
		err = nil
		close(c.done)
		c.net.mu.Lock()
		if c.net.socks[c.ap] == c {
			delete(c.net.socks, c.ap)
		}
		c.net.mu.Unlock()
	})
	return err
}

// LocalAddr returns the socket's *net.UDPAddr.
func (c *PacketConn) LocalAddr() net.Addr { return c.addr }

// SetDeadline sets the read deadline (writes never block).
func (c *PacketConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

// SetReadDeadline makes a pending and future ReadFrom fail after t.
func (c *PacketConn) SetReadDeadline(t time.Time) error {
	c.rd.set(t)
	return nil
}

// SetWriteDeadline is a no-op: writes never block.
func (c *PacketConn) SetWriteDeadline(time.Time) error { return nil }

// SetReadBuffer is a no-op that tells quic-go the buffer is fine.
func (c *PacketConn) SetReadBuffer(int) error { return nil }

// SetWriteBuffer is a no-op that tells quic-go the buffer is fine.
func (c *PacketConn) SetWriteBuffer(int) error { return nil }
