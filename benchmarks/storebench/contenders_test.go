package storebench

import (
	"slices"
	"testing"
)

// TestContenders checks what the benchmarks rely on: every cache holds
// every preloaded key (ristretto's asynchronous sets included), takes an
// overwrite of a key it holds, and reads it back at once (ristretto too:
// it updates a held key before queueing the set for its policy).
func TestContenders(t *testing.T) {
	const n = 5_000
	cs, keys := contenders(t, n)
	if got := len(cs); got != len(order) {
		t.Fatalf("%d contenders, want %d", got, len(order))
	}
	for _, name := range order {
		c := cs[name]
		for _, k := range keys {
			if v, ok := c.get(k); !ok || len(v) != valueLen {
				t.Fatalf("%s: get %s = %d bytes, %v after preload", name, k, len(v), ok)
			}
		}
		val := []byte("new value")
		if !c.set(keys[0], val) {
			t.Fatalf("%s: overwrite of a held key dropped", name)
		}
		if v, ok := c.get(keys[0]); !ok || !slices.Equal(v, val) {
			t.Errorf("%s: get after set = %q, %v", name, v, ok)
		}
	}
}
