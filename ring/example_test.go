package ring_test

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/gridkv/gridkv/ring"
)

func ExampleNew() {
	r, err := ring.New([]ring.Member{
		{ID: "node-a", Zone: "eu-1"},
		{ID: "node-b", Zone: "eu-2"},
		{ID: "node-c", Zone: "eu-3", Weight: 2}, // twice the keys
	}, ring.Config{})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Len(), "members")

	_, err = ring.New([]ring.Member{{ID: "x"}, {ID: "x"}}, ring.Config{})
	fmt.Println(err)
	// Output:
	// 3 members
	// ring: duplicate member ID: "x"
}

func ExampleKeyHash() {
	fmt.Printf("%#x\n", ring.KeyHash("user:42"))
	// Output: 0x9fc1e605fa7174aa
}

func newRing() *ring.Ring {
	r, err := ring.New([]ring.Member{
		{ID: "node-a", Zone: "eu-1"},
		{ID: "node-b", Zone: "eu-1"},
		{ID: "node-c", Zone: "eu-2"},
		{ID: "node-d", Zone: "eu-2"},
	}, ring.Config{})
	if err != nil {
		panic(err)
	}
	return r
}

func ExampleRing_Owner() {
	r := newRing()
	owner := r.Owner(ring.KeyHash("user:42"))
	fmt.Println(r.Member(owner).ID)
	// Output: node-b
}

func ExampleRing_Replicas() {
	r := newRing()
	dst := make([]int, 0, 3) // reused across calls: no allocation
	// Each set has both zones first, then the next member met on the ring.
	for _, key := range []string{"user:42", "user:43"} {
		dst = r.Replicas(ring.KeyHash(key), 3, dst)
		var names []string
		for _, i := range dst {
			m := r.Member(i)
			names = append(names, m.ID+"@"+m.Zone)
		}
		fmt.Println(key, strings.Join(names, " "))
	}
	// Output:
	// user:42 node-b@eu-1 node-c@eu-2 node-d@eu-2
	// user:43 node-c@eu-2 node-b@eu-1 node-a@eu-1
}

func ExampleRing_Members() {
	r := newRing()
	for i, m := range r.Members() {
		fmt.Println(i, m.ID, m.Zone)
	}
	// Output:
	// 0 node-a eu-1
	// 1 node-b eu-1
	// 2 node-c eu-2
	// 3 node-d eu-2
}

func ExampleRing_Member() {
	r := newRing()
	fmt.Println(r.Member(2).ID)
	// Output: node-c
}

func ExampleRing_Index() {
	r := newRing()
	i, ok := r.Index("node-c")
	fmt.Println(i, ok)
	_, ok = r.Index("node-z")
	fmt.Println(ok)
	// Output:
	// 2 true
	// false
}

func ExampleRing_Len() {
	fmt.Println(newRing().Len())
	// Output: 4
}

func ExampleDiff() {
	three := []ring.Member{{ID: "node-a"}, {ID: "node-b"}, {ID: "node-c"}}
	old, _ := ring.New(three, ring.Config{Points: 2})
	next, _ := ring.New(append(three, ring.Member{ID: "node-d"}), ring.Config{Points: 2})
	for _, c := range ring.Diff(old, next, 1) {
		fmt.Printf("[%#016x, %#016x) %v -> %v\n", c.Range.Start, c.Range.End, c.From, c.To)
	}
	// Output:
	// [0xc9ef69efe3c7cc63, 0xcf5683a65b702aac) [node-a] -> [node-d]
	// [0xcf5683a65b702aac, 0xf22efed46814fe81) [node-b] -> [node-d]
}

func ExampleRange_Contains() {
	tail := ring.Range{Start: 1 << 63, End: 0} // End 0 is 2^64
	fmt.Println(tail.Contains(1<<64-1), tail.Contains(1))
	// Output: true false
}

// A node keeps its ring in an atomic.Pointer: lookups load it, membership
// changes build a new one and store it; readers never wait for a build.
func Example_swap() {
	var cur atomic.Pointer[ring.Ring]
	r, _ := ring.New([]ring.Member{{ID: "node-a"}}, ring.Config{})
	cur.Store(r)

	// On a membership change:
	next, err := ring.New([]ring.Member{{ID: "node-a"}, {ID: "node-b"}}, ring.Config{})
	if err == nil {
		cur.Store(next)
	}

	// On each request:
	fmt.Println(cur.Load().Len())
	// Output: 2
}

// With a nil old ring, Diff lists every range of a ring with its replicas.
func ExampleDiff_rangeTable() {
	r, _ := ring.New([]ring.Member{{ID: "node-a"}, {ID: "node-b"}}, ring.Config{Points: 2})
	for _, c := range ring.Diff(nil, r, 2) {
		fmt.Printf("[%#016x, %#016x) %v\n", c.Range.Start, c.Range.End, c.To)
	}
	// Output:
	// [0x0000000000000000, 0x2a95384fc4e45641) [node-b node-a]
	// [0x2a95384fc4e45641, 0xcf5683a65b702aac) [node-a node-b]
	// [0xcf5683a65b702aac, 0x0000000000000000) [node-b node-a]
}
