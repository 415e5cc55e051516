package gridkv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/gridkv/gridkv/swim"
)

// nodeMetrics holds a node's metrics in its own metrics.Set (no globals,
// so several nodes in one process report separately).
//
//	gridkv_operations_total{op}            operations finished (set, get, delete, scan)
//	gridkv_errors_total{op,type}           failed operations by kind (not_found is not an error)
//	gridkv_operation_duration_seconds{op}  latency histogram, Prometheus le buckets (50µs..10s)
//	gridkv_local_reads_total               consistency-One reads served from local memory
//	gridkv_membership_events_total
//	gridkv_members{state}                  members by state as seen by this node
//	gridkv_ring_members
//	gridkv_hints_pending, gridkv_hints_stored_total, gridkv_hints_delivered_total,
//	gridkv_hints_dropped_total, gridkv_hints_expired_total
//	gridkv_quorum_failures_total, gridkv_read_repairs_total, gridkv_superseded_writes_total
//	gridkv_reads_around_stalled_total      reads that skipped a replica leaving calls unanswered (quorum Stats.StalledSkips)
//	gridkv_anti_entropy_rounds_total, gridkv_anti_entropy_pushed_total,
//	gridkv_anti_entropy_pulled_total
//	gridkv_rebalance_ranges_receiving, gridkv_rebalance_entries_moved_total,
//	gridkv_handoff_ranges, gridkv_handoff_entries_pushed_total, gridkv_handoff_entries_dropped_total
//	gridkv_store_keys, gridkv_store_tombstones, gridkv_store_bytes,
//	gridkv_store_max_bytes, gridkv_store_evictions_total
//
// The _total series of the replication engine are counters, exposed as
// gauges read from its Stats at scrape time.
type nodeMetrics struct {
	set        *metrics.Set
	localReads *metrics.Counter
	events     *metrics.Counter
	opsTotal   [len(metricOps)]*metrics.Counter
	latency    [len(metricOps)]promHistogram
}

// metricOp is an operation the metrics count: an index into metricOps.
type metricOp uint8

const (
	opSet metricOp = iota
	opGet
	opDelete
	opScan
)

// metricOps are the op labels of the metricOp values.
var metricOps = [...]string{opSet: "set", opGet: "get", opDelete: "delete", opScan: "scan"}

func newNodeMetrics(s *metrics.Set, g *GridKV) *nodeMetrics {
	m := &nodeMetrics{
		set:        s,
		localReads: s.GetOrCreateCounter("gridkv_local_reads_total"),
		events:     s.GetOrCreateCounter("gridkv_membership_events_total"),
	}
	for i, op := range metricOps {
		m.opsTotal[i] = s.GetOrCreateCounter(`gridkv_operations_total{op="` + op + `"}`)
		m.latency[i].name, m.latency[i].labels = "gridkv_operation_duration_seconds", `op="`+op+`"`
	}
	s.RegisterMetricsWriter(func(w io.Writer) {
		fmt.Fprintln(w, "# TYPE gridkv_operation_duration_seconds histogram")
		for i := range m.latency {
			m.latency[i].writeTo(w)
		}
	})
	for _, st := range []swim.State{swim.StateAlive, swim.StateSuspect, swim.StateFailed, swim.StateLeft} {
		s.GetOrCreateGauge(`gridkv_members{state="`+st.String()+`"}`, func() float64 {
			n := 0
			for _, mb := range g.sw.Members() {
				if mb.State == st {
					n++
				}
			}
			return float64(n)
		})
	}
	s.GetOrCreateGauge("gridkv_ring_members", func() float64 {
		if rv := g.ring.Load(); rv != nil {
			return float64(rv.r.Len())
		}
		return 0
	})
	s.GetOrCreateGauge("gridkv_hints_pending", func() float64 { return float64(g.q.Stats().Hints) })
	s.GetOrCreateGauge("gridkv_hints_stored_total", func() float64 { return float64(g.q.Stats().HintsStored) })
	s.GetOrCreateGauge("gridkv_hints_delivered_total", func() float64 { return float64(g.q.Stats().HintsDelivered) })
	s.GetOrCreateGauge("gridkv_hints_dropped_total", func() float64 { return float64(g.q.Stats().HintsDropped) })
	s.GetOrCreateGauge("gridkv_hints_expired_total", func() float64 { return float64(g.q.Stats().HintsExpired) })
	s.GetOrCreateGauge("gridkv_quorum_failures_total", func() float64 { return float64(g.q.Stats().QuorumFailures) })
	s.GetOrCreateGauge("gridkv_read_repairs_total", func() float64 { return float64(g.q.Stats().ReadRepairs) })
	s.GetOrCreateGauge("gridkv_superseded_writes_total", func() float64 { return float64(g.q.Stats().Superseded) })
	s.GetOrCreateGauge("gridkv_reads_around_stalled_total", func() float64 { return float64(g.q.Stats().StalledSkips) })
	s.GetOrCreateGauge("gridkv_anti_entropy_rounds_total", func() float64 { return float64(g.q.Stats().AntiEntropyRounds) })
	s.GetOrCreateGauge("gridkv_anti_entropy_pushed_total", func() float64 { return float64(g.q.Stats().AntiEntropyPushed) })
	s.GetOrCreateGauge("gridkv_anti_entropy_pulled_total", func() float64 { return float64(g.q.Stats().AntiEntropyPulled) })
	s.GetOrCreateGauge("gridkv_rebalance_ranges_receiving", func() float64 { return float64(g.q.Stats().RangesReceiving) })
	s.GetOrCreateGauge("gridkv_rebalance_entries_moved_total", func() float64 { return float64(g.q.Stats().EntriesMoved) })
	s.GetOrCreateGauge("gridkv_handoff_ranges", func() float64 { return float64(g.q.Stats().RangesHandingOff) })
	s.GetOrCreateGauge("gridkv_handoff_entries_pushed_total", func() float64 { return float64(g.q.Stats().EntriesHandoffPushed) })
	s.GetOrCreateGauge("gridkv_handoff_entries_dropped_total", func() float64 { return float64(g.q.Stats().EntriesHandedOff) })
	s.GetOrCreateGauge("gridkv_store_keys", func() float64 { return float64(g.store.Stats().Keys) })
	s.GetOrCreateGauge("gridkv_store_tombstones", func() float64 { return float64(g.store.Stats().Tombstones) })
	s.GetOrCreateGauge("gridkv_store_bytes", func() float64 { return float64(g.store.Stats().Bytes) })
	s.GetOrCreateGauge("gridkv_store_max_bytes", func() float64 { return float64(g.store.Stats().MaxBytes) })
	s.GetOrCreateGauge("gridkv_store_evictions_total", func() float64 { return float64(g.store.Stats().Evictions) })
	return m
}

// done records a finished operation.
func (m *nodeMetrics) done(op metricOp, start time.Time, err error) {
	m.opsTotal[op].Inc()
	m.latency[op].observe(time.Since(start))
	if err == nil || errors.Is(err, ErrNotFound) {
		return
	}
	m.set.GetOrCreateCounter(`gridkv_errors_total{op="` + metricOps[op] + `",type="` + errorType(err) + `"}`).Inc()
}

func errorType(err error) string {
	switch {
	case errors.Is(err, ErrQuorumNotMet):
		return "quorum_not_met"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, ErrKeyTooLarge), errors.Is(err, ErrValueTooLarge):
		return "too_large"
	case errors.Is(err, ErrClosed):
		return "closed"
	}
	return "other"
}
