package gridkv

import (
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"
)

// latencyBounds are the upper bounds of the latency histograms' buckets
// (Prometheus "le", in seconds), from 50 µs to 10 s.
var latencyBounds = [...]time.Duration{
	50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// promHistogram is a latency histogram in Prometheus' own layout:
// cumulative _bucket{le="..."} series, _sum and _count, which Prometheus'
// histogram_quantile reads. (The histograms of VictoriaMetrics/metrics
// v1.35 use vmrange buckets, which only VictoriaMetrics reads.) An
// observation is two atomic additions; no lock, no allocation.
type promHistogram struct {
	name   string // the metric name without labels
	labels string // `op="get"`, no braces
	counts [len(latencyBounds) + 1]atomic.Uint64
	sumNS  atomic.Int64
}

func (h *promHistogram) observe(d time.Duration) {
	i := 0
	for i < len(latencyBounds) && d > latencyBounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNS.Add(int64(d))
}

// writeTo writes h in the Prometheus text format.
func (h *promHistogram) writeTo(w io.Writer) {
	var cum uint64
	for i := range h.counts {
		cum += h.counts[i].Load()
		le := "+Inf"
		if i < len(latencyBounds) {
			le = strconv.FormatFloat(latencyBounds[i].Seconds(), 'g', -1, 64)
		}
		fmt.Fprintf(w, "%s_bucket{%s,le=%q} %d\n", h.name, h.labels, le, cum)
	}
	fmt.Fprintf(w, "%s_sum{%s} %s\n", h.name, h.labels, strconv.FormatFloat(time.Duration(h.sumNS.Load()).Seconds(), 'g', -1, 64))
	fmt.Fprintf(w, "%s_count{%s} %d\n", h.name, h.labels, cum)
}
