package swimtest

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/memberlist"
)

func TestPacketsPartitionsAndStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw := NewNetwork(1)
		a, b := nw.NewTransport(), nw.NewTransport()
		defer a.Shutdown()
		defer b.Shutdown()
		recv := func() (*memberlist.Packet, bool) {
			synctest.Wait()
			time.Sleep(time.Millisecond) // latency
			select {
			case p := <-b.PacketCh():
				return p, true
			default:
				return nil, false
			}
		}
		if _, err := a.WriteTo([]byte("hello"), b.Addr()); err != nil {
			t.Fatal(err)
		}
		p, ok := recv()
		if !ok || string(p.Buf) != "hello" || p.From.String() != a.Addr() {
			t.Fatalf("got %v %v", p, ok)
		}
		nw.Partition([]string{a.Addr()})
		a.WriteTo([]byte("lost"), b.Addr())
		if _, ok := recv(); ok {
			t.Fatal("packet crossed a partition")
		}
		nw.Heal()
		nw.SetLoss(1)
		a.WriteTo([]byte("lost"), b.Addr())
		if _, ok := recv(); ok {
			t.Fatal("packet survived 100% loss")
		}
		nw.SetLoss(0)
		if s := nw.Stats(a.Addr()); s.Packets != 3 || s.PacketBytes != 13 {
			t.Fatalf("stats %+v", s)
		}
	})
}

func TestStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw := NewNetwork(1)
		a, b := nw.NewTransport(), nw.NewTransport()
		defer a.Shutdown()
		go func() {
			c := <-b.StreamCh()
			buf := make([]byte, 4)
			io.ReadFull(c, buf)
			c.Write(buf)
			c.Close()
		}()
		c, err := a.DialTimeout(b.Addr(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("ping"))
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
			t.Fatalf("echo %q %v", buf, err)
		}
		c.Close()
		// Deadlines work on the in-memory conns.
		go func() { <-b.StreamCh() }() // accepted, never answered
		c, err = a.DialTimeout(b.Addr(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read past deadline: %v", err)
		}
		c.Close()
		// Across a partition a dial times out; to a crashed member it
		// is refused at once.
		nw.Partition([]string{a.Addr()})
		start := time.Now()
		if _, err := a.DialTimeout(b.Addr(), 300*time.Millisecond); err == nil || time.Since(start) != 300*time.Millisecond {
			t.Fatalf("dial across partition: %v after %v", err, time.Since(start))
		}
		nw.Heal()
		b.Shutdown()
		start = time.Now()
		if _, err := a.DialTimeout(b.Addr(), time.Second); err == nil || time.Since(start) > time.Millisecond {
			t.Fatalf("dial to crashed member: %v after %v", err, time.Since(start))
		}
		// The address can be reused by a restarted member.
		b2, err := nw.Listen(b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer b2.Shutdown()
		if _, err := nw.Listen(b.Addr()); err == nil {
			t.Fatal("address taken twice")
		}
		if nw.Stats(a.Addr()).StreamBytes != 4 {
			t.Fatalf("stream bytes %d", nw.Stats(a.Addr()).StreamBytes)
		}
	})
}

func TestShutdownBreaksConns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw := NewNetwork(1)
		a, b := nw.NewTransport(), nw.NewTransport()
		defer a.Shutdown()
		var server net.Conn
		go func() { server = <-b.StreamCh() }()
		c, err := a.DialTimeout(b.Addr(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		_ = server
		b.Shutdown() // crash
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("read from a crashed peer succeeded")
		}
		c.Close()
	})
}

// TestStall: what is sent during a stall arrives when the stall ends, not
// before; afterwards packets flow with the usual latency again.
func TestStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw := NewNetwork(1)
		a, b := nw.NewTransport(), nw.NewTransport()
		defer a.Shutdown()
		defer b.Shutdown()
		start := time.Now()
		nw.Stall(2 * time.Second)
		time.Sleep(time.Second)
		a.WriteTo([]byte("held"), b.Addr())
		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		select {
		case p := <-b.PacketCh():
			t.Fatalf("%q delivered %v into a 2 s stall", p.Buf, time.Since(start))
		default:
		}
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		select {
		case p := <-b.PacketCh():
			if string(p.Buf) != "held" || p.Timestamp.Before(start.Add(2*time.Second)) {
				t.Fatalf("got %q at %v", p.Buf, p.Timestamp.Sub(start))
			}
		default:
			t.Fatal("packet sent during the stall not delivered when it ended")
		}
		a.WriteTo([]byte("after"), b.Addr())
		time.Sleep(time.Millisecond)
		synctest.Wait()
		select {
		case p := <-b.PacketCh():
			if string(p.Buf) != "after" {
				t.Fatalf("got %q", p.Buf)
			}
		default:
			t.Fatal("packet sent after the stall not delivered")
		}
	})
}
