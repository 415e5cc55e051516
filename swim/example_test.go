package swim_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/gridkv/gridkv/swim"
	"github.com/gridkv/gridkv/swim/swimtest"
)

// Two members on an in-memory network: the second joins through the
// first, and both see each other alive. With real sockets, leave Transport
// nil and set BindAddr instead.
func Example() {
	nw := swimtest.NewNetwork(1)
	a, err := swim.Start(&swim.Config{
		NodeID:    "a",
		Transport: nw.NewTransport(),
		Meta:      swim.Meta{TransportAddr: "127.0.0.1:7001", Zone: "z1"},
	})
	if err != nil {
		panic(err)
	}
	defer a.Close()
	b, err := swim.Start(&swim.Config{
		NodeID:    "b",
		Seeds:     []string{a.Addr()},
		Transport: nw.NewTransport(),
		Meta:      swim.Meta{TransportAddr: "127.0.0.1:7002", Zone: "z2"},
	})
	if err != nil {
		panic(err)
	}
	defer b.Close()
	<-b.Joined()
	for len(a.Snapshot().Alive()) < 2 {
		time.Sleep(10 * time.Millisecond)
	}
	for _, m := range a.Members() {
		fmt.Println(m.ID, m.State, m.Meta.TransportAddr, m.Meta.Zone)
	}
	// Output:
	// a alive 127.0.0.1:7001 z1
	// b alive 127.0.0.1:7002 z2
}

// Events arrive in order: the member itself first, then the others.
func ExampleNode_Events() {
	nw := swimtest.NewNetwork(1)
	a, _ := swim.Start(&swim.Config{NodeID: "a", Transport: nw.NewTransport()})
	defer a.Close()
	b, _ := swim.Start(&swim.Config{NodeID: "b", Seeds: []string{a.Addr()}, Transport: nw.NewTransport()})
	for range 2 {
		e := <-a.Events()
		fmt.Println(e.Seq, e.Type, e.Member.ID)
	}
	<-b.Joined() // b knows a, so its leave reaches a
	b.Close()    // graceful: a sees a leave, not a failure
	e := <-a.Events()
	fmt.Println(e.Seq, e.Type, e.Member.ID, e.Member.State)
	// Output:
	// 1 join a
	// 2 join b
	// 3 leave b left
}

func ExampleMeta_MarshalBinary() {
	m := swim.Meta{TransportAddr: "10.0.0.7:7000", Zone: "eu-1a", BootID: 42, Protocol: 1}
	b, _ := m.MarshalBinary()
	got, err := swim.DecodeMeta(b)
	fmt.Println(len(b), got.TransportAddr, got.Zone, got.BootID, got.Protocol, err)
	// Output:
	// 33 10.0.0.7:7000 eu-1a 42 1 <nil>
}

func ExampleDecodeMeta() {
	_, err := swim.DecodeMeta([]byte("this is not metadata"))
	fmt.Println(errors.Is(err, swim.ErrMeta), err)
	// Output:
	// true swim: invalid metadata: unknown version 116
}

// Rotating the gossip key: the three steps run on every member, each
// step on all of them before the next.
func ExampleNode_InstallKey() {
	oldKey := []byte("0123456789abcdef")
	newKey := []byte("fedcba9876543210")
	n, _ := swim.Start(&swim.Config{
		NodeID:     "a",
		Transport:  swimtest.NewNetwork(1).NewTransport(),
		SecretKeys: [][]byte{oldKey},
	})
	defer n.Close()
	_ = n.InstallKey(newKey) // 1. everyone can decrypt with it
	_ = n.UseKey(newKey)     // 2. everyone encrypts with it
	_ = n.RemoveKey(oldKey)  // 3. the old key is gone
	fmt.Println(len(n.Keys()), string(n.Keys()[0]))
	// Output:
	// 1 fedcba9876543210
}
