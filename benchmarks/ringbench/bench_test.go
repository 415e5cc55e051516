package ringbench

import (
	"strings"
	"testing"

	"github.com/gridkv/gridkv/ring"
)

// The lookups of each library for 10 members, over a table of random keys:
// go test -bench . -benchmem -count 5 ./ringbench

const benchMembers = 10

func benchRing(b *testing.B) *ring.Ring {
	ms := make([]ring.Member, benchMembers)
	for i, id := range IDs(benchMembers) {
		ms[i] = ring.Member{ID: id}
	}
	r, err := ring.New(ms, ring.Config{})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func BenchmarkOwner(b *testing.B) {
	keys, hashes := Keys(1<<16, 2)
	mask := len(keys) - 1
	b.Run("ring/hash", func(b *testing.B) {
		r := benchRing(b)
		b.ReportAllocs()
		i, s := 0, 0
		for b.Loop() {
			s += r.Owner(hashes[i&mask])
			i++
		}
		_ = s
	})
	b.Run("ring/key", func(b *testing.B) { // hashing included, as consistent does
		r := benchRing(b)
		b.ReportAllocs()
		i, s := 0, 0
		for b.Loop() {
			s += r.Owner(ring.KeyHash(string(keys[i&mask])))
			i++
		}
		_ = s
	})
	b.Run("consistent/key", func(b *testing.B) {
		c := NewConsistent(IDs(benchMembers))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			_ = c.LocateKey(keys[i&mask])
			i++
		}
	})
	b.Run("jump/hash", func(b *testing.B) {
		b.ReportAllocs()
		i, s := 0, 0
		for b.Loop() {
			s += Jump(hashes[i&mask], benchMembers)
			i++
		}
		_ = s
	})
}

func BenchmarkReplicas(b *testing.B) {
	keys, hashes := Keys(1<<16, 3)
	mask := len(keys) - 1
	b.Run("ring/hash", func(b *testing.B) {
		r := benchRing(b)
		dst := make([]int, 0, 3)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			dst = r.Replicas(hashes[i&mask], 3, dst)
			i++
		}
	})
	b.Run("consistent/key", func(b *testing.B) {
		c := NewConsistent(IDs(benchMembers))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := c.GetClosestN(keys[i&mask], 3); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("jump/hash", func(b *testing.B) { // next buckets: not zone-aware
		dst := make([]int, 0, 3)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			o := Jump(hashes[i&mask], benchMembers)
			dst = append(dst[:0], o, (o+1)%benchMembers, (o+2)%benchMembers)
			i++
		}
	})
}

func BenchmarkBuild100(b *testing.B) {
	for _, p := range Placements() {
		b.Run(strings.ReplaceAll(p.Name, "/", "_"), func(b *testing.B) {
			ids := IDs(100)
			b.ReportAllocs()
			for b.Loop() {
				p.New(ids)
			}
		})
	}
}

// TestTable is a smoke test of the comparison, small enough for the race
// detector; the real run is go run ./cmd/ringbalance.
func TestTable(t *testing.T) {
	tab := table(20_000, 10, 20, 1)
	if got := strings.Count(tab, "\n| "); got != 1+len(Placements()) {
		t.Fatalf("table has %d rows:\n%s", got, tab)
	}
	t.Log("\n" + tab)
}

// TestJump checks jump hash's defining property: going from n to n+1
// buckets, a key stays or moves to the new bucket n, about 1/(n+1) of them.
func TestJump(t *testing.T) {
	_, hashes := Keys(20_000, 4)
	for n := 1; n < 40; n++ {
		moved := 0
		for _, h := range hashes {
			a, b := Jump(h, n), Jump(h, n+1)
			if a < 0 || a >= n || (a != b && b != n) {
				t.Fatalf("Jump(%#x): %d buckets → %d, %d buckets → %d", h, n, a, n+1, b)
			}
			if a != b {
				moved++
			}
		}
		if want := len(hashes) / (n + 1); moved < want*8/10 || moved > want*12/10 {
			t.Errorf("%d → %d buckets moved %d keys, want about %d", n, n+1, moved, want)
		}
	}
}
