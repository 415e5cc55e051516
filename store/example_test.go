package store_test

import (
	"fmt"

	"github.com/gridkv/gridkv/hlc"
	"github.com/gridkv/gridkv/store"
)

// ver makes a version at wall time ms written by node.
func ver(ms int64, node store.NodeID) store.Version {
	return store.Version{Time: hlc.New(ms, 0), Node: node}
}

func Example() {
	s, err := store.New(&store.Config{MaxBytes: 64 << 20})
	if err != nil {
		panic(err)
	}
	defer s.Close()

	s.Set("user:42", []byte("alice"), ver(1000, 1), 0)
	if v, ok := s.View("user:42"); ok { // zero-copy, read-only
		fmt.Printf("%s\n", v)
	}
	s.Delete("user:42", ver(2000, 1))
	_, ok := s.Get("user:42")
	fmt.Println(ok)
	// Output:
	// alice
	// false
}

func ExampleStore_Apply() {
	s, _ := store.New(nil)
	defer s.Close()
	// The same writes arriving in any order, replayed: last-write-wins.
	writes := []store.Entry{
		{Key: "k", Value: []byte("from node 2"), Version: ver(1000, 2)},
		{Key: "k", Value: []byte("from node 1"), Version: ver(1000, 1)}, // same time, lower node
		{Key: "k", Value: []byte("older"), Version: ver(999, 9)},
		{Key: "k", Value: []byte("from node 2"), Version: ver(1000, 2)}, // replay
	}
	for _, e := range writes {
		applied, err := s.Apply(e)
		fmt.Println(applied, err)
	}
	v, _ := s.Get("k")
	fmt.Printf("%s\n", v)
	// Output:
	// true <nil>
	// false <nil>
	// false <nil>
	// false <nil>
	// from node 2
}

func ExampleStore_Read() {
	s, _ := store.New(nil)
	defer s.Close()
	s.Set("k", []byte("v"), ver(1000, 1), 0)
	s.Delete("k", ver(1001, 1))
	// The replication layer sees the tombstone and its version.
	e, ok := s.Read("k")
	fmt.Println(ok, e.Tombstone, e.Version)
	// Output: true true 1001.0@1
}

func ExampleStore_Scan() {
	s, _ := store.New(nil)
	defer s.Close()
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		s.Set(k, []byte(k), ver(1000, 1), 0)
	}
	// Page through the whole hash space, two entries a page.
	n, pages := 0, 0
	for c := (store.Cursor{}); !c.Done; pages++ {
		var page []store.Entry
		page, c = s.Scan(nil, store.Range{}, c, 2)
		n += len(page)
	}
	fmt.Println(n, "entries in", pages, "pages")
	// Output: 5 entries in 3 pages
}

func ExampleStore_Digest() {
	a, _ := store.New(nil)
	defer a.Close()
	b, _ := store.New(nil)
	defer b.Close()
	for i := range 1000 {
		k := fmt.Sprint("key-", i)
		a.Set(k, []byte("v"), ver(1000, 1), 0)
		b.Set(k, []byte("v"), ver(1000, 1), 0)
	}
	b.Set("key-7", []byte("newer"), ver(2000, 2), 0)

	// Compare trees, then only the versions of the differing leaves.
	diff, _ := a.Digest(store.Range{}).Diff(b.Digest(store.Range{}))
	for _, r := range diff {
		va, vb := a.Versions(nil, r), b.Versions(nil, r)
		for i := range va {
			if va[i].Version != vb[i].Version {
				fmt.Println(va[i].Key, va[i].Version, "vs", vb[i].Version)
			}
		}
	}
	// Output: key-7 1000.0@1 vs 2000.0@2
}

func ExampleEntry_AppendBinary() {
	e := store.Entry{Key: "k", Value: []byte("v"), Version: ver(1000, 1)}
	buf, _ := e.AppendBinary(nil)
	got, n, err := store.DecodeEntry(buf)
	fmt.Println(n == len(buf), err, got.Key, string(got.Value), got.Version)
	// Output: true <nil> k v 1000.0@1
}

func ExampleVersion_Compare() {
	fmt.Println(ver(1000, 1).Compare(ver(1000, 2)), ver(1001, 1).Compare(ver(1000, 2)))
	// Output: -1 1
}

func ExampleStore_View() {
	s, _ := store.New(nil)
	defer s.Close()
	s.Set("k", []byte("v1"), ver(1000, 1), 0)
	v, _ := s.View("k") // shared, read-only: never modify it
	s.Set("k", []byte("v2"), ver(2000, 1), 0)
	now, _ := s.View("k")
	fmt.Printf("%s %s\n", v, now) // the old view did not change
	// Output: v1 v2
}

// Expiry and tombstones with an injected clock: no sleeping.
func ExampleStore_Sweep() {
	now := int64(1_000_000)
	s, _ := store.New(&store.Config{
		Now:           func() int64 { return now },
		SweepInterval: -1, // no background goroutine: call Sweep
	})
	defer s.Close()
	s.Set("session", []byte("x"), ver(now, 1), now+500) // expires in 500 ms
	now += 600
	_, ok := s.Get("session")
	s.Sweep()
	st := s.Stats()
	fmt.Println(ok, st.Keys, st.Tombstones, st.Expirations)
	// Output: false 0 1 1
}

func ExampleRange() {
	// A node owning the arc from 3/4 of the hash space around to 1/4:
	r := store.Range{Start: 3 << 62, End: 1 << 62}
	full := store.Range{} // Start == End: everything
	fmt.Println(r.Contains(0), r.Contains(1<<63), full.Contains(store.KeyHash("k")))
	// Output: true false true
}

func ExampleStore_Stats() {
	s, _ := store.New(&store.Config{MaxBytes: 2 << 20})
	defer s.Close()
	for i := range 20_000 {
		s.Set(fmt.Sprint("key-", i), make([]byte, 100), ver(1000, 1), 0)
	}
	st := s.Stats()
	fmt.Println(st.Bytes <= st.MaxBytes, st.Evictions > 0)
	// Output: true true
}
