package quorum_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/gridkv/gridkv/quorum"
	"github.com/gridkv/gridkv/quorum/internal/check"
	"github.com/gridkv/gridkv/quorum/internal/simnet"
)

// kvWorkload is a random read/write/delete workload over a few keys.
type kvWorkload struct {
	clients, opsPerClient, keys int
	// maxAmbiguous stops writes to a key once that many writes to it
	// failed: each one stays "in flight" for ever in the linearizability
	// check, whose cost grows exponentially with the operations in flight.
	maxAmbiguous int
	think        time.Duration // pause between a client's operations, up to
	writeShare   float64       // puts and deletes; a tenth of them deletes
	opts         []quorum.Option
}

// run drives the workload on c (inside its bubble) and returns the history.
func (w kvWorkload) run(c *simCluster, rec *check.Recorder) {
	var mu sync.Mutex
	ambiguous := make(map[string]int)
	seq := 0
	var wg sync.WaitGroup
	for cl := range w.clients {
		rng := rand.New(rand.NewPCG(uint64(c.seed), uint64(cl)+1))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range w.opsPerClient {
				time.Sleep(time.Duration(rng.Int64N(int64(w.think) + 1)))
				key := fmt.Sprintf("k%d", rng.IntN(w.keys))
				members := c.Members()
				via := members[rng.IntN(len(members))]
				kind := check.Get
				if p := rng.Float64(); p < w.writeShare {
					kind = check.Put
					if p < w.writeShare/10 {
						kind = check.Delete
					}
				}
				mu.Lock()
				if ambiguous[key] >= w.maxAmbiguous {
					kind = check.Get
				}
				seq++
				value := check.Value(key, seq)
				mu.Unlock()
				if kind != check.Put {
					value = ""
				}
				op := c.do(rec, cl, via, kind, key, value, w.opts...)
				if op.Ambiguous() {
					mu.Lock()
					ambiguous[key]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
}

// linRun is one seeded run's outcome.
type linRun struct {
	ops []check.Op
	log []string
}

// runLinearizable runs the workload under the nemesis in a bubble and
// returns the history (to be checked outside the bubble, in real time).
func runLinearizable(t *testing.T, seed int64, cfg simConfig, w kvWorkload, nem nemesis) linRun {
	var out linRun
	synctest.Test(t, func(t *testing.T) {
		c := newSimCluster(t, seed, cfg)
		defer c.close()
		rec := check.NewRecorder()
		nem.c = c
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			nem.run(stop)
		}()
		w.run(c, rec)
		close(stop)
		<-done
		c.healAll()
		out = linRun{ops: rec.Ops(), log: nem.log}
	})
	return out
}

func linConfig(seed int64) simConfig {
	return simConfig{
		nodes:        3 + int(seed%3), // 3 to 5 nodes
		n:            3,
		w:            2,
		r:            2,
		consistency:  quorum.Linearizable,
		timeout:      300 * time.Millisecond,
		maxSkew:      200 * time.Millisecond,
		net:          simnet.Options{MinDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, Duplicate: 0.02, Crash: simnet.CrashMode(seed % 2)},
		antiEntropy:  time.Second,
		hintInterval: 200 * time.Millisecond,
	}
}

func linNemesis() nemesis {
	return nemesis{period: 150 * time.Millisecond, partitions: true, crashes: true, freezes: true, loss: true}
}

var linWorkload = kvWorkload{clients: 8, opsPerClient: 40, keys: 4, maxAmbiguous: 4, think: 20 * time.Millisecond, writeShare: 0.5}

// TestSimLinearizable: porcupine finds no violation in Linearizable mode
// under partitions, one-way blocks, crashes, freezes, message loss,
// duplication, reordering and clock skew.
func TestSimLinearizable(t *testing.T) {
	var unknown, illegal, runs int
	var total check.Summary
	simSeeds(t, simRuns(200), func(t *testing.T, seed int64) {
		cfg := linConfig(seed)
		res := runLinearizable(t, seed, cfg, linWorkload, linNemesis())
		lin := check.Linearizable(fmt.Sprintf("lin-seed-%d", seed), res.ops, 2*time.Second)
		s := check.Summarize(res.ops)
		runs++
		total.Ops += s.Ops
		total.Failed += s.Failed
		total.Ambiguous += s.Ambiguous
		switch lin.Result {
		case porcupine.Unknown:
			unknown++
			t.Logf("seed %d: linearizability inconclusive (porcupine timed out): %v", seed, lin)
		case porcupine.Illegal:
			illegal++
			t.Errorf("seed %d: NOT LINEARIZABLE (%v): %v\nvisualization: %s\nfaults: %s\nhistory:\n%s",
				seed, cfg, lin, lin.VizPath, strings.Join(res.log, "; "), historyExcerpt(res.ops, 60))
		}
		for _, o := range check.ForeignReads(res.ops) {
			t.Errorf("seed %d: read returned another key's value: %v", seed, o)
		}
		for _, o := range check.UnwrittenReads(res.ops) {
			t.Errorf("seed %d: read returned a value never written: %v", seed, o)
		}
	})
	t.Logf("%d runs, %d ops (%d failed, %d ambiguous writes); porcupine: %d illegal, %d inconclusive",
		runs, total.Ops, total.Failed, total.Ambiguous, illegal, unknown)
	if runs > 0 && total.Failed*2 > total.Ops {
		t.Errorf("more than half the operations failed (%d of %d): the faults leave too little to check", total.Failed, total.Ops)
	}
	if unknown*10 > runs {
		t.Errorf("%d of %d runs inconclusive: shrink the workload", unknown, runs)
	}
}

// historyExcerpt formats up to n operations, the failed ones and those
// around them first.
func historyExcerpt(ops []check.Op, n int) string {
	var b strings.Builder
	for i, o := range ops {
		if i == n {
			fmt.Fprintf(&b, "... and %d more\n", len(ops)-n)
			break
		}
		fmt.Fprintf(&b, "  %v\n", o)
	}
	return b.String()
}
