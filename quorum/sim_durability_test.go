package quorum_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gridkv/gridkv/quorum"
	"github.com/gridkv/gridkv/quorum/internal/check"
	"github.com/gridkv/gridkv/quorum/internal/simnet"
)

// setWorkload writes unique keys (each once) and reads back keys written
// before, from random nodes.
type setWorkload struct {
	clients, writesPerClient int
	readShare                float64
	think                    time.Duration
}

func (w setWorkload) run(c *simCluster, rec *check.Recorder) (keys []string) {
	var mu sync.Mutex
	var written []string
	var wg sync.WaitGroup
	for cl := range w.clients {
		rng := rand.New(rand.NewPCG(uint64(c.seed), 100+uint64(cl)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < w.writesPerClient; {
				time.Sleep(time.Duration(rng.Int64N(int64(w.think) + 1)))
				members := c.Members()
				via := members[rng.IntN(len(members))]
				mu.Lock()
				var key string
				if len(written) > 0 && rng.Float64() < w.readShare {
					key = written[rng.IntN(len(written))]
				}
				mu.Unlock()
				if key != "" {
					c.do(rec, cl, via, check.Get, key, "")
					continue
				}
				key = fmt.Sprintf("u%d-%d", cl, i)
				i++
				c.do(rec, cl, via, check.Put, key, check.Value(key, i))
				mu.Lock()
				written = append(written, key)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.Sort(written)
	return written
}

// TestSimNoAcknowledgedWriteLost: with unique keys written under
// partitions, crashes, freezes, loss and at most W-1 empty restarts (so at
// least one of the W replicas that acknowledged any write keeps its
// memory), every acknowledged write reads back with its value after the
// cluster heals, no read ever returns another key's value, and the replicas
// converge. Also while a member joins and another leaves (then without
// empty restarts: a departure already takes one copy away).
func TestSimNoAcknowledgedWriteLost(t *testing.T) {
	t.Run("faults", func(t *testing.T) { testNoAckLost(t, false) })
	t.Run("faults and membership changes", func(t *testing.T) { testNoAckLost(t, true) })
}

func testNoAckLost(t *testing.T, membership bool) {
	var acked, lost, ambiguous, emptied, faults int
	simSeeds(t, simRuns(40), func(t *testing.T, seed int64) {
		synctest.Test(t, func(t *testing.T) {
			cfg := simConfig{
				nodes: 5, n: 3, w: 2, r: 2, consistency: quorum.Quorum,
				timeout: 300 * time.Millisecond, maxSkew: 200 * time.Millisecond,
				net:          simnet.Options{MinDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, Duplicate: 0.02, Crash: simnet.CrashMode(seed % 2)},
				antiEntropy:  time.Second,
				hintInterval: 200 * time.Millisecond,
			}
			c := newSimCluster(t, seed, cfg)
			defer c.close()
			rec := check.NewRecorder()
			nem := &nemesis{c: c, period: 150 * time.Millisecond, partitions: true, crashes: true, freezes: true, loss: true,
				emptyRestarts: !membership, maxEmptyRestarts: cfg.w - 1}
			stop, done := make(chan struct{}), make(chan struct{})
			go func() { defer close(done); nem.run(stop) }()
			var changed <-chan struct{}
			if membership {
				changed = c.joinThenLeave(nem, 200*time.Millisecond, "n6", seed%2 == 0, "n2")
			}
			keys := setWorkload{clients: 8, writesPerClient: 20, readShare: 0.3, think: 20 * time.Millisecond}.run(c, rec)
			if membership {
				<-changed
			}
			close(stop)
			<-done
			c.healAll()
			// Quiet period: hints, read repair and anti-entropy rounds.
			time.Sleep(5 * time.Second)

			ops := rec.Ops()
			emptied += len(nem.emptied)
			faults += len(nem.events())
			fail := func(format string, args ...any) {
				t.Helper()
				t.Errorf("seed %d (%v): %s\nfaults: %s", seed, cfg, fmt.Sprintf(format, args...), strings.Join(nem.events(), "; "))
			}
			want, err := check.AckedWrites(ops)
			if err != nil {
				t.Fatal(err)
			}
			s := check.Summarize(ops)
			acked += len(want)
			ambiguous += s.Ambiguous
			for _, via := range c.Members() {
				l := check.LostWrites(want, c.read(via))
				lost += len(l)
				if len(l) > 0 {
					fail("%d of %d acknowledged writes lost, read through %s:\n  %s", len(l), len(want), via, strings.Join(l, "\n  "))
					break
				}
			}
			for _, o := range check.ForeignReads(ops) {
				fail("read returned another key's value: %v", o)
			}
			for _, o := range check.UnwrittenReads(ops) {
				fail("read returned a value never written: %v", o)
			}
			// Strict, strays included: old replicas hand their ranges off.
			if problems := c.census(keys, false); len(problems) > 0 {
				fail("replicas did not converge after healing and %v quiet:%s", 5*time.Second, problemList(problems))
			}
		})
	})
	t.Logf("%d acknowledged writes checked, %d lost, %d ambiguous writes; %d nemesis actions, %d empty restarts",
		acked, lost, ambiguous, faults, emptied)
	if acked == 0 {
		t.Error("no write was acknowledged: the test checks nothing")
	}
}
