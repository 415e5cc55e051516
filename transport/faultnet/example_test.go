package faultnet_test

import (
	"fmt"
	"net"
	"time"

	"github.com/gridkv/gridkv/transport/faultnet"
)

// Wrap puts faults between a real socket and its peers.
func ExampleWrap() {
	a, _ := net.ListenPacket("udp", "127.0.0.1:0")
	b, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer b.Close()
	fa := faultnet.Wrap(a, 1)
	defer fa.Close()

	fa.SetPeerFaults(b.LocalAddr().String(), faultnet.Faults{Blackhole: true})
	fa.WriteTo([]byte("lost"), b.LocalAddr())
	fa.SetPeerFaults(b.LocalAddr().String(), faultnet.Faults{}) // heal
	fa.WriteTo([]byte("delivered"), b.LocalAddr())

	buf := make([]byte, 100)
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := b.ReadFrom(buf)
	fmt.Println(string(buf[:n]), err)
	// Output: delivered <nil>
}

// An in-memory network with a slow link.
func ExampleNetwork() {
	n := faultnet.NewNetwork(1)
	a, _ := n.Listen("127.0.0.1:0")
	b, _ := n.Listen("127.0.0.1:0")
	defer a.Close()
	defer b.Close()
	n.SetLinkFaults(a.LocalAddr().String(), b.LocalAddr().String(),
		faultnet.Faults{Delay: 10 * time.Millisecond, Jitter: time.Millisecond})

	start := time.Now()
	a.WriteTo([]byte("hello"), b.LocalAddr())
	buf := make([]byte, 100)
	k, from, _ := b.ReadFrom(buf)
	fmt.Println(string(buf[:k]), from.String() == a.LocalAddr().String(), time.Since(start) >= 10*time.Millisecond)
	// Output: hello true true
}
