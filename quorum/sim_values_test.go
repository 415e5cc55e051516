package quorum_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gridkv/gridkv/quorum"
	"github.com/gridkv/gridkv/quorum/internal/check"
	"github.com/gridkv/gridkv/quorum/internal/simnet"
)

// TestSimNoForeignReads: no read ever returns another key's value, nor a
// value never written to its key, whatever the mix: many concurrent
// clients, keys that prefix each other ("k1", "k10", "k100"), values of
// very different sizes (request buffers are pooled and reused), every
// consistency level, duplicated and reordered messages, loss, partitions,
// crashes and empty restarts.
func TestSimNoForeignReads(t *testing.T) {
	var reads, found int
	simSeeds(t, simRuns(40), func(t *testing.T, seed int64) {
		synctest.Test(t, func(t *testing.T) {
			cfg := simConfig{
				nodes: 5, n: 3, w: 2, r: 2, consistency: quorum.Quorum,
				timeout: 300 * time.Millisecond, maxSkew: 100 * time.Millisecond,
				readRepair:  quorum.ReadRepair(seed % 3),
				net:         simnet.Options{MinDelay: 0, MaxDelay: 10 * time.Millisecond, Duplicate: 0.1, Crash: simnet.CrashMode(seed % 2)},
				antiEntropy: 300 * time.Millisecond, hintInterval: 100 * time.Millisecond,
			}
			c := newSimCluster(t, seed, cfg)
			defer c.close()
			rec := check.NewRecorder()
			nem := &nemesis{c: c, period: 100 * time.Millisecond, partitions: true, crashes: true, freezes: true, loss: true,
				emptyRestarts: true, maxEmptyRestarts: 2}
			stop, done := make(chan struct{}), make(chan struct{})
			go func() { defer close(done); nem.run(stop) }()
			keys := []string{"k", "k1", "k10", "k100", "k1000", "k2", "k20", "x", strings.Repeat("long", 50)}
			modes := []quorum.Consistency{quorum.One, quorum.Quorum, quorum.All, quorum.Linearizable}
			var wg sync.WaitGroup
			var mu sync.Mutex
			seq := 0
			for cl := range 16 {
				rng := rand.New(rand.NewPCG(uint64(seed), 1000+uint64(cl)))
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 30 {
						time.Sleep(time.Duration(rng.Int64N(int64(5 * time.Millisecond))))
						key := keys[rng.IntN(len(keys))]
						members := c.Members()
						via := members[rng.IntN(len(members))]
						opt := quorum.WithConsistency(modes[rng.IntN(len(modes))])
						switch p := rng.Float64(); {
						case p < 0.4:
							mu.Lock()
							seq++
							n := seq
							mu.Unlock()
							// Pad some values to a few KB so buffers of very
							// different sizes circulate.
							v := check.Value(key, n)
							if rng.IntN(4) == 0 {
								v += ";pad=" + strings.Repeat("p", rng.IntN(4096))
							}
							c.do(rec, cl, via, check.Put, key, v, opt)
						case p < 0.45:
							c.do(rec, cl, via, check.Delete, key, "", opt)
						default:
							c.do(rec, cl, via, check.Get, key, "", opt)
						}
					}
				}()
			}
			wg.Wait()
			close(stop)
			<-done
			c.healAll()
			ops := rec.Ops()
			s := check.Summarize(ops)
			reads += s.Gets
			found += s.Gets - s.NotFound - s.Failed
			fail := func(what string, bad []check.Op) {
				t.Helper()
				if len(bad) == 0 {
					return
				}
				var b strings.Builder
				for _, o := range bad[:min(10, len(bad))] {
					fmt.Fprintf(&b, "\n  %v", o)
				}
				t.Errorf("seed %d: %d reads returned %s:%s\nfaults: %s", seed, len(bad), what, b.String(), strings.Join(nem.events(), "; "))
			}
			fail("another key's value", check.ForeignReads(ops))
			fail("a value never written to their key", check.UnwrittenReads(ops))
		})
	})
	t.Logf("%d reads checked, %d returned a value", reads, found)
	if found == 0 {
		t.Error("no read returned a value: the test checks nothing")
	}
}
