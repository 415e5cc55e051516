package clusterbench

import (
	"math/bits"
	"time"
)

// subBits sets the precision of a Histogram: each power of two is cut into
// 2^(subBits-1) equal buckets, so a recorded value is known within 1/32
// (about 3%), the way an HDR histogram with two significant digits works.
const subBits = 6

// numBuckets covers every non-negative int64 nanosecond count.
const numBuckets = (64-subBits)<<(subBits-1) + 1<<subBits

// Histogram counts durations in log-linear buckets: exact below 64 ns,
// then 32 buckets per power of two. Recording is a few instructions and
// never allocates; percentiles are read without sorting samples. It is not
// safe for concurrent use: give each goroutine its own and Merge them.
type Histogram struct {
	counts [numBuckets]uint64
	total  uint64
}

// bucketOf returns the bucket of v.
func bucketOf(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	shift := bits.Len64(v) - subBits
	return shift<<(subBits-1) + int(v>>shift)
}

// bucketRange returns the smallest value of bucket i and its width.
func bucketRange(i int) (lo, width uint64) {
	if i < 1<<subBits {
		return uint64(i), 1
	}
	const half = 1 << (subBits - 1)
	shift := i/half - 1
	return uint64(i-shift*half) << shift, 1 << shift
}

// Record adds one duration (negative counts as zero).
func (h *Histogram) Record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d)
	}
	h.counts[bucketOf(v)]++
	h.total++
}

// Merge adds the counts of o to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
}

// Count returns the number of recorded durations.
func (h *Histogram) Count() uint64 { return h.total }

// Quantile returns the duration below which a fraction q (0..1) of the
// recorded durations lie: the middle of the bucket holding that rank.
// It returns 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total) + 0.5)
	rank = max(rank, 1)
	rank = min(rank, h.total)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, w := bucketRange(i)
			return time.Duration(lo + (w-1)/2)
		}
	}
	return 0 // unreachable: seen reaches total
}
