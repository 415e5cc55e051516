//go:build unix

package main

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// monitor watches, while the suite runs, how every running node sees the
// nodes that are not under a fault: a healthy node seen suspect or failed
// is a false suspicion or a false death. It also samples the machine's
// 1-minute load average every second, to tell a slow second caused by
// other processes on a shared machine from one caused by the cluster.
type monitor struct {
	t0      time.Time
	nodes   []*node
	faulted atomic.Int32 // index of the node under a fault, -1: none

	mu       sync.Mutex
	prev     map[[2]int]string // (observer, target) -> last state seen
	suspects []flap
	failures []flap
	load     map[int]float64 // second -> 1-minute load average
	stalls   []stall
}

// stall is a time the suite's own process did not run for more than a
// second (a 100 ms ticker came late): on a shared machine, or a paused
// VM, every process stalls alike, nodes included.
type stall struct {
	at, gap time.Duration
}

// watchStalls records the late ticks of a 100 ms ticker.
func (m *monitor) watchStalls(ctx context.Context) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			now = time.Now()
			if gap := now.Sub(last); gap > time.Second {
				m.mu.Lock()
				m.stalls = append(m.stalls, stall{at: last.Sub(m.t0), gap: gap})
				m.mu.Unlock()
			}
			last = now
		}
	}
}

// flap is a healthy target seen suspect or failed by observer.
type flap struct {
	at               time.Duration
	observer, target string
}

func newMonitor(t0 time.Time, nodes []*node) *monitor {
	m := &monitor{t0: t0, nodes: nodes, prev: map[[2]int]string{}, load: map[int]float64{}}
	m.faulted.Store(-1)
	return m
}

func (m *monitor) setFaulted(i int) { m.faulted.Store(int32(i)) }

func (m *monitor) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { m.watchStalls(ctx) })
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Since(m.t0)
		if la, ok := loadAvg(); ok {
			m.mu.Lock()
			m.load[int(now/time.Second)] = la
			m.mu.Unlock()
		}
		f := int(m.faulted.Load())
		m.mu.Lock()
		nodes := m.nodes
		m.mu.Unlock()
		for _, o := range nodes {
			oi := o.idx
			if oi == f || !o.running() {
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			v, err := view(pctx, o)
			cancel()
			if err != nil {
				continue
			}
			if g := int(m.faulted.Load()); g != f {
				break // a fault began meanwhile: skip this round
			}
			for _, t := range nodes {
				ti := t.idx
				if ti == f || ti == oi {
					continue
				}
				st := "failed"
				if mb, ok := v.member(t.id); ok {
					st = mb.State
				}
				key := [2]int{oi, ti}
				m.mu.Lock()
				if st != m.prev[key] {
					fl := flap{at: time.Since(m.t0), observer: o.id, target: t.id}
					switch st {
					case "suspect":
						m.suspects = append(m.suspects, fl)
					case "failed", "left":
						m.failures = append(m.failures, fl)
					}
					m.prev[key] = st
				}
				m.mu.Unlock()
			}
		}
	}
}

// setNodes changes the nodes that are members of the cluster (a join, a
// leave) and forgets the states seen.
func (m *monitor) setNodes(nodes []*node) {
	m.mu.Lock()
	m.nodes = slices.Clone(nodes)
	clear(m.prev)
	m.mu.Unlock()
}

// forget clears the last states seen, so that a node coming back from a
// fault does not count as flapping.
func (m *monitor) forget() {
	m.mu.Lock()
	clear(m.prev)
	m.mu.Unlock()
}

func (m *monitor) stallList() []stall {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]stall(nil), m.stalls...)
}

func (m *monitor) results() (suspects, failures []flap, load map[int]float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := make(map[int]float64, len(m.load))
	for k, v := range m.load {
		l[k] = v
	}
	return append([]flap(nil), m.suspects...), append([]flap(nil), m.failures...), l
}

// loadAvg reads the 1-minute load average (Linux; false elsewhere).
func loadAvg() (float64, bool) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return v, err == nil
}
