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

	"github.com/anishathalye/porcupine"
	"github.com/gridkv/gridkv/quorum"
	"github.com/gridkv/gridkv/quorum/internal/check"
	"github.com/gridkv/gridkv/quorum/internal/simnet"
)

// TestSimMoveReadsWithReplicaDown: a 3-node N=3 W=2 R=2 cluster under
// load; a 4th node joins (its first ring the old one), one of the old
// members crashes for a second and comes back, then a member leaves
// (and keeps running). MoveDelay is longer than the whole run, so no
// range is pulled: the replicas that receive ranges stay receiving
// throughout. Every operation through a live node must succeed (with one
// replica down, a key's receiving replica must make up the quorum by
// completing its answers from the old replicas), no read may miss an
// acknowledged write, and in Linearizable mode the history must be
// linearizable. Before receiving replicas completed their answers, reads
// and linearizable writes failed with ErrQuorumNotMet here.
func TestSimMoveReadsWithReplicaDown(t *testing.T) {
	for _, mode := range []quorum.Consistency{quorum.Quorum, quorum.Linearizable} {
		t.Run(mode.String(), func(t *testing.T) {
			var ops, failed int
			simSeeds(t, simRuns(16), func(t *testing.T, seed int64) {
				var hist []check.Op
				var log []string
				synctest.Test(t, func(t *testing.T) {
					cfg := simConfig{nodes: 3, n: 3, w: 2, r: 2, consistency: mode, timeout: time.Second,
						net:       simnet.Options{MinDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond},
						moveDelay: time.Hour, hintInterval: 50 * time.Millisecond, antiEntropy: -1}
					c := newSimCluster(t, seed, cfg)
					defer c.close()
					watch := c.watchVersions()
					rec := check.NewRecorder()
					var mu sync.Mutex
					down := map[string]bool{}
					note := func(s string) { log = append(log, time.Now().Format("05.000")+" "+s) }
					stop := make(chan struct{})
					changed := make(chan struct{})
					victim := fmt.Sprint("n", 1+seed%3)
					go func() {
						defer close(changed)
						time.Sleep(200 * time.Millisecond)
						c.join("n4", true)
						note("join n4")
						time.Sleep(200 * time.Millisecond)
						mu.Lock()
						down[victim] = true
						mu.Unlock()
						c.crash(victim)
						note("crash " + victim)
						time.Sleep(time.Second)
						c.recover(victim)
						mu.Lock()
						down[victim] = false
						mu.Unlock()
						note("recover " + victim)
						time.Sleep(200 * time.Millisecond)
						c.leave("n1")
						note("leave n1")
						time.Sleep(800 * time.Millisecond)
						close(stop)
					}()
					var wg sync.WaitGroup
					for cl := range 6 {
						rng := rand.New(rand.NewPCG(uint64(seed), 200+uint64(cl)))
						wg.Go(func() {
							for i := 0; ; i++ {
								select {
								case <-stop:
									return
								default:
								}
								time.Sleep(time.Duration(rng.Int64N(int64(40*time.Millisecond)) + 1))
								key := fmt.Sprintf("k%d", rng.IntN(8))
								mu.Lock()
								members := slices.DeleteFunc(c.Members(), func(id string) bool { return down[id] })
								mu.Unlock()
								via := members[rng.IntN(len(members))]
								if rng.IntN(2) == 0 {
									c.do(rec, cl, via, check.Put, key, check.Value(key, cl*100000+i))
								} else {
									c.do(rec, cl, via, check.Get, key, "")
								}
							}
						})
					}
					wg.Wait()
					<-changed
					hist = rec.Ops()
					for _, o := range hist {
						ops++
						// Operations coordinated by the victim may have been
						// in flight when it crashed.
						if o.Err != nil && o.Node != victim {
							failed++
							t.Errorf("seed %d: %v failed with at most one replica down (%v)", seed, o, log)
						}
					}
					if p := check.StaleReads(hist, watch.versions()); len(p) > 0 {
						t.Errorf("seed %d: %d reads missed an acknowledged write (%v):\n  %s",
							seed, len(p), log, strings.Join(p[:min(10, len(p))], "\n  "))
					}
				})
				if mode == quorum.Linearizable && !t.Failed() {
					lin := check.Linearizable(fmt.Sprintf("moveread-seed-%d", seed), hist, 2*time.Second)
					if lin.Result == porcupine.Illegal {
						t.Errorf("seed %d: history not linearizable (%v)", seed, log)
					}
				}
			})
			t.Logf("%v: %d operations, %d failed", mode, ops, failed)
		})
	}
}
