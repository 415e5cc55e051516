package faultnet

import (
	"errors"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"
)

func listen(t *testing.T, n *Network) *PacketConn {
	t.Helper()
	pc, err := n.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// recvAll reads datagrams until none arrives for a virtual second.
func recvAll(pc net.PacketConn) []string {
	var got []string
	buf := make([]byte, 100)
	defer pc.SetReadDeadline(time.Time{})
	for {
		pc.SetReadDeadline(time.Now().Add(time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			return got
		}
		got = append(got, string(buf[:n]))
	}
}

func TestNetworkFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(1)
		a, b := listen(t, n), listen(t, n)
		send := func(k int) {
			for i := range k {
				a.WriteTo([]byte{byte('a' + i%26)}, b.LocalAddr())
			}
		}
		send(3)
		if got := recvAll(b); len(got) != 3 || got[0] != "a" || got[2] != "c" {
			t.Fatalf("clean link delivered %q", got)
		}

		n.SetLinkFaults(a.LocalAddr().String(), b.LocalAddr().String(), Faults{Delay: 50 * time.Millisecond})
		start := time.Now()
		send(1)
		buf := make([]byte, 10)
		if _, from, err := b.ReadFrom(buf); err != nil || from.String() != a.LocalAddr().String() {
			t.Fatalf("delayed datagram: from %v, %v", from, err)
		}
		if d := time.Since(start); d != 50*time.Millisecond {
			t.Fatalf("delay %v, want exactly 50ms of virtual time", d)
		}

		n.SetLinkFaults(a.LocalAddr().String(), b.LocalAddr().String(), Faults{Drop: 0.5})
		send(1000)
		if got := len(recvAll(b)); got < 400 || got > 600 {
			t.Fatalf("50%% loss delivered %d of 1000", got)
		}

		n.Partition(a.LocalAddr().String(), b.LocalAddr().String())
		send(10)
		b.WriteTo([]byte("x"), a.LocalAddr())
		if got := recvAll(b); len(got) != 0 {
			t.Fatalf("partition delivered %q", got)
		}
		if got := recvAll(a); len(got) != 0 {
			t.Fatalf("partition delivered %q the other way", got)
		}
		n.Heal(a.LocalAddr().String(), b.LocalAddr().String())
		send(2)
		if got := recvAll(b); len(got) != 2 {
			t.Fatalf("healed link delivered %q", got)
		}

		n.SetLinkFaults(a.LocalAddr().String(), b.LocalAddr().String(), Faults{Jitter: 10 * time.Millisecond})
		send(26)
		got := recvAll(b)
		inOrder := true
		for i := 1; i < len(got); i++ {
			inOrder = inOrder && got[i-1] < got[i]
		}
		if len(got) != 26 || inOrder {
			t.Fatalf("jitter: got %d datagrams, in order %v; want all, reordered", len(got), inOrder)
		}
	})
}

func TestNetworkSockets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(1)
		a := listen(t, n)
		if _, err := n.Listen(a.LocalAddr().String()); err == nil {
			t.Fatal("listened twice on one address")
		}
		// A read blocked on its deadline returns a timeout.
		done := make(chan error)
		go func() {
			_, _, err := a.ReadFrom(make([]byte, 10))
			done <- err
		}()
		synctest.Wait()
		a.SetReadDeadline(time.Now().Add(time.Second))
		if err := <-done; !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read past deadline: %v", err)
		}
		a.SetReadDeadline(time.Time{})
		go func() {
			_, _, err := a.ReadFrom(make([]byte, 10))
			done <- err
		}()
		synctest.Wait()
		a.Close()
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read after close: %v", err)
		}
		// The address can be used again after Close (a restarted node).
		b, err := n.Listen(a.LocalAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		b.Close()
	})
}

func TestConnFaults(t *testing.T) {
	a, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fa := Wrap(a, 7)
	defer fa.Close()
	read := func(pc net.PacketConn, wait time.Duration) (string, error) {
		buf := make([]byte, 10)
		pc.SetReadDeadline(time.Now().Add(wait))
		n, _, err := pc.ReadFrom(buf)
		return string(buf[:n]), err
	}
	fa.WriteTo([]byte("plain"), b.LocalAddr())
	if got, err := read(b, 5*time.Second); got != "plain" {
		t.Fatalf("no fault: %q, %v", got, err)
	}
	fa.SetPeerFaults(b.LocalAddr().String(), Faults{Delay: 30 * time.Millisecond})
	start := time.Now()
	fa.WriteTo([]byte("late"), b.LocalAddr())
	if got, err := read(b, 5*time.Second); got != "late" || time.Since(start) < 30*time.Millisecond {
		t.Fatalf("delay: %q, %v after %v", got, err, time.Since(start))
	}
	fa.SetPeerFaults(b.LocalAddr().String(), Faults{Blackhole: true})
	fa.WriteTo([]byte("lost"), b.LocalAddr())
	b.WriteTo([]byte("lost too"), fa.LocalAddr())
	if got, err := read(b, 100*time.Millisecond); err == nil {
		t.Fatalf("blackhole delivered %q", got)
	}
	if got, err := read(fa, 100*time.Millisecond); err == nil {
		t.Fatalf("blackhole delivered %q inbound", got)
	}
	fa.SetPeerFaults(b.LocalAddr().String(), Faults{})
	b.WriteTo([]byte("back"), fa.LocalAddr())
	if got, err := read(fa, 5*time.Second); got != "back" {
		t.Fatalf("healed: %q, %v", got, err)
	}
}
