package faultnet

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Faults describes what happens to datagrams on a link. The zero value
// delivers everything at once.
type Faults struct {
	// Drop is the probability in [0, 1] that a datagram is lost.
	Drop float64
	// Delay is added to every datagram.
	Delay time.Duration
	// Jitter adds a uniformly random extra delay in [0, Jitter), which
	// reorders datagrams.
	Jitter time.Duration
	// Blackhole loses every datagram (for a Conn, in both directions).
	Blackhole bool
}

func (f Faults) zero() bool { return f == Faults{} }

// decide returns whether to drop and how long to delay one datagram.
func (f Faults) decide(rng *rand.Rand) (drop bool, delay time.Duration) {
	if f.Blackhole || (f.Drop > 0 && rng.Float64() < f.Drop) {
		return true, 0
	}
	delay = f.Delay
	if f.Jitter > 0 {
		delay += time.Duration(rng.Int64N(int64(f.Jitter)))
	}
	return false, delay
}

// key normalises an address to compare peers.
func key(a net.Addr) (netip.AddrPort, bool) {
	switch a := a.(type) {
	case *net.UDPAddr:
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	case nil:
		return netip.AddrPort{}, false
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

func parse(addr string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// deadline is a resettable read deadline (as in net.Pipe).
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	cancel chan struct{}
}

func newDeadline() *deadline { return &deadline{cancel: make(chan struct{})} }

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.cancel // the timer fired: wait for it to close cancel
	}
	d.timer = nil
	closed := isClosed(d.cancel)
	if t.IsZero() {
		if closed {
			d.cancel = make(chan struct{})
		}
		return
	}
	if dur := time.Until(t); dur > 0 {
		if closed {
			d.cancel = make(chan struct{})
		}
		c := d.cancel
		d.timer = time.AfterFunc(dur, func() { close(c) })
		return
	}
	if !closed {
		close(d.cancel)
	}
}

func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancel
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
