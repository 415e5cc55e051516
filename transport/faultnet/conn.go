package faultnet

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Conn wraps a net.PacketConn and applies Faults to the datagrams it sends,
// chosen by destination (SetPeerFaults) or by default (SetFaults). A
// Blackhole also discards datagrams received from that address, so one
// wrapped node can be cut off from a peer in both directions. It is safe for
// concurrent use; faults can change at any time.
//
// Conn forwards SetReadBuffer and SetWriteBuffer when the wrapped conn has
// them; quic-go uses its batched OOB path only on a bare *net.UDPConn, so a
// wrapped socket uses plain ReadFrom and WriteTo.
type Conn struct {
	net.PacketConn

	mu     sync.Mutex
	rng    *rand.Rand
	def    Faults
	peers  map[netip.AddrPort]Faults
	closed bool
}

// Wrap returns a Conn over pc with no faults; seed drives the randomness.
func Wrap(pc net.PacketConn, seed uint64) *Conn {
	return &Conn{
		PacketConn: pc,
		rng:        rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		peers:      make(map[netip.AddrPort]Faults),
	}
}

// SetFaults sets the faults for destinations without their own.
func (c *Conn) SetFaults(f Faults) {
	c.mu.Lock()
	c.def = f
	c.mu.Unlock()
}

// SetPeerFaults sets the faults for one peer address ("ip:port"); a zero
// Faults removes them (the default applies again).
func (c *Conn) SetPeerFaults(addr string, f Faults) error {
	ap, err := parse(addr)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if f.zero() {
		delete(c.peers, ap)
	} else {
		c.peers[ap] = f
	}
	c.mu.Unlock()
	return nil
}

func (c *Conn) faultsFor(a net.Addr) Faults {
	if len(c.peers) > 0 {
		if ap, ok := key(a); ok {
			if f, ok := c.peers[ap]; ok {
				return f
			}
		}
	}
	return c.def
}

// WriteTo sends p to addr unless the faults drop it (then it reports
// success, as UDP would), possibly after a delay.
func (c *Conn) WriteTo(p []byte, addr net.Addr) (int, error) {
	c.mu.Lock()
	f := c.faultsFor(addr)
	if f.zero() || c.closed {
		c.mu.Unlock()
		return c.PacketConn.WriteTo(p, addr)
	}
	drop, delay := f.decide(c.rng)
	if drop {
		c.mu.Unlock()
		return len(p), nil
	}
	if delay <= 0 {
		c.mu.Unlock()
		return c.PacketConn.WriteTo(p, addr)
	}
	b := append([]byte(nil), p...)
	c.mu.Unlock()
	time.AfterFunc(delay, func() {
		c.mu.Lock()
		closed := c.closed
		c.mu.Unlock()
		if !closed {
			c.PacketConn.WriteTo(b, addr)
		}
	})
	return len(p), nil
}

// ReadFrom returns the next datagram not discarded by a Blackhole.
func (c *Conn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil {
			return n, addr, err
		}
		c.mu.Lock()
		bh := c.faultsFor(addr).Blackhole
		c.mu.Unlock()
		if !bh {
			return n, addr, nil
		}
	}
}

// Close closes the wrapped conn; datagrams still delayed are discarded.
func (c *Conn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return c.PacketConn.Close()
}

// SetReadBuffer forwards to the wrapped conn if it has the method.
func (c *Conn) SetReadBuffer(n int) error {
	if s, ok := c.PacketConn.(interface{ SetReadBuffer(int) error }); ok {
		return s.SetReadBuffer(n)
	}
	return nil
}

// SetWriteBuffer forwards to the wrapped conn if it has the method.
func (c *Conn) SetWriteBuffer(n int) error {
	if s, ok := c.PacketConn.(interface{ SetWriteBuffer(int) error }); ok {
		return s.SetWriteBuffer(n)
	}
	return nil
}
