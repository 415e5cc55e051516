//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridkv/gridkv/benchmarks/internal/redisclient"
	"github.com/redis/go-redis/v9"
)

// Operation kinds.
const (
	opSet = iota
	opGet
)

// Outcomes of an operation.
const (
	outOK      = iota // acknowledged (SET OK) or read the exact value
	outErr            // error or timeout: a SET is then ambiguous
	outMissing        // GET of an acknowledged key returned nil
	outWrong          // GET returned a value that was never written for the key
)

// rec is one operation: when it started and ended (since the suite began),
// through which node, what and how it ended.
type rec struct {
	start, end time.Duration
	node       int8
	kind       int8
	out        int8
	worker     int32
	seq        int64 // the key's sequence number within its worker
}

// write is one SET: key and value follow from (worker, seq).
type write struct {
	worker int32
	seq    int64
	acked  bool
}

func keyOf(worker int32, seq int64) string {
	return "fs:" + strconv.Itoa(int(worker)) + ":" + strconv.FormatInt(seq, 10)
}

// valueOf is the exact value of a key: the key, its sequence number and a
// check-able padding up to size bytes.
func valueOf(worker int32, seq int64, size int) string {
	v := fmt.Sprintf("%s|seq=%d|", keyOf(worker, seq), seq)
	for len(v) < size {
		v += "x"
	}
	return v
}

// worker state: the keys it wrote, with their outcomes, and its records.
type workerState struct {
	mu     sync.Mutex
	writes []write // index = seq
	acked  []int64 // seqs of acknowledged writes, for reads
	recs   []rec
}

// load drives the cluster through RESP: every worker alternates between
// SETs of new unique keys and GETs of keys it had acknowledged, each sent
// to a random node of the active set (a fault takes its node out of the
// set before it is injected, as a client-side health check would, so the
// faulted node's own client connections do not count as failures).
type load struct {
	t0        time.Time
	clients   []*redis.Client
	active    atomic.Pointer[[]int]
	sticky    atomic.Bool   // worker w sends to node w mod nodes (if active)
	interval  time.Duration // per worker between operation starts; 0: none (closed loop)
	inflight  []atomic.Int64
	workers   []*workerState
	valueSize int
	getPct    int
	wg        sync.WaitGroup
	cancel    context.CancelFunc

	errMu      sync.Mutex
	errSamples []string   // the first failed operations, for the report
	errs       []failedOp // up to 20000, for the notes under the table
}

// failedOp is a failed operation with its error.
type failedOp struct {
	r   rec
	err string
}

// noteErr keeps the first 10 failed operations for the report, and up to
// 20000 with their errors for the notes (r.end must be set).
func (l *load) noteErr(r rec, err error) {
	l.errMu.Lock()
	defer l.errMu.Unlock()
	if len(l.errs) < 20000 {
		l.errs = append(l.errs, failedOp{r, err.Error()})
	}
	if len(l.errSamples) < 10 {
		op := "SET"
		if r.kind == opGet {
			op = "GET"
		}
		l.errSamples = append(l.errSamples, fmt.Sprintf("%.2fs %s via node%d %s: %v", r.start.Seconds(), op, r.node+1, keyOf(r.worker, r.seq), err))
	}
}

func newLoad(t0 time.Time, nodes []*node, workers, valueSize, getPct int, opTimeout time.Duration) *load {
	l := &load{t0: t0, valueSize: valueSize, getPct: getPct,
		inflight: make([]atomic.Int64, len(nodes))}
	for _, n := range nodes {
		l.clients = append(l.clients, redisclient.New(n.redis, redisclient.Options{
			PoolSize: workers, DialTimeout: time.Second, Timeout: opTimeout, ContextTimeout: true,
		}))
	}
	all := make([]int, len(nodes))
	for i := range all {
		all[i] = i
	}
	l.active.Store(&all)
	for range workers {
		l.workers = append(l.workers, &workerState{})
	}
	return l
}

func (l *load) setActive(idx []int) { l.active.Store(&idx) }

// exclude takes node i out of the active set and waits (up to wait) for
// the operations in flight through it to end.
func (l *load) exclude(i int, wait time.Duration) {
	var keep []int
	for _, j := range *l.active.Load() {
		if j != i {
			keep = append(keep, j)
		}
	}
	l.setActive(keep)
	deadline := time.Now().Add(wait)
	for l.inflight[i].Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

func (l *load) include(i int) {
	idx := append([]int(nil), *l.active.Load()...)
	for _, j := range idx {
		if j == i {
			return
		}
	}
	l.setActive(append(idx, i))
}

func (l *load) run(ctx context.Context, opTimeout time.Duration) {
	ctx, l.cancel = context.WithCancel(ctx)
	for w := range l.workers {
		l.wg.Go(func() { l.work(ctx, int32(w), opTimeout) })
	}
}

func (l *load) stop() {
	if l.cancel != nil {
		l.cancel()
	}
	l.wg.Wait()
}

func (l *load) close() {
	for _, c := range l.clients {
		_ = c.Close()
	}
}

func (l *load) work(ctx context.Context, w int32, opTimeout time.Duration) {
	st := l.workers[w]
	rng := rand.New(rand.NewPCG(uint64(w), uint64(l.t0.UnixNano())))
	next := time.Now()
	for ctx.Err() == nil {
		if l.interval > 0 {
			// Paced: start at most one operation per interval; a worker
			// that fell behind (a slow operation) starts the next at once
			// but does not burst to catch up.
			if d := time.Until(next); d > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(d):
				}
			}
			next = next.Add(l.interval)
			if now := time.Now(); next.Before(now) {
				next = now
			}
		}
		act := *l.active.Load()
		if len(act) == 0 {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		ni := act[rng.IntN(len(act))]
		if l.sticky.Load() {
			if own := int(w) % len(l.clients); slices.Contains(act, own) {
				ni = own
			}
		}
		c := l.clients[ni]
		st.mu.Lock()
		nAcked := len(st.acked)
		st.mu.Unlock()
		r := rec{node: int8(ni), worker: w}
		if nAcked > 0 && rng.IntN(100) < l.getPct {
			st.mu.Lock()
			r.seq = st.acked[rng.IntN(len(st.acked))]
			st.mu.Unlock()
			r.kind = opGet
		} else {
			st.mu.Lock()
			r.seq = int64(len(st.writes))
			st.writes = append(st.writes, write{worker: w, seq: r.seq})
			st.mu.Unlock()
			r.kind = opSet
		}
		key := keyOf(w, r.seq)
		want := valueOf(w, r.seq, l.valueSize)
		l.inflight[ni].Add(1)
		opCtx, cancel := context.WithTimeout(context.Background(), opTimeout)
		start := time.Now()
		r.start = start.Sub(l.t0)
		var opErr error
		if r.kind == opSet {
			if err := c.Set(opCtx, key, want, 0).Err(); err != nil {
				r.out = outErr
				opErr = err
			}
		} else {
			got, err := c.Get(opCtx, key).Result()
			switch {
			case errors.Is(err, redis.Nil):
				r.out = outMissing
			case err != nil:
				r.out = outErr
				opErr = err
			case got != want:
				r.out = outWrong
			}
		}
		end := time.Now()
		cancel()
		l.inflight[ni].Add(-1)
		r.end = end.Sub(l.t0)
		if opErr != nil {
			l.noteErr(r, opErr)
		}
		if r.out == outErr && l.sticky.Load() {
			time.Sleep(10 * time.Millisecond) // a client backs off
		}
		st.mu.Lock()
		if r.kind == opSet && r.out == outOK {
			st.writes[r.seq].acked = true
			st.acked = append(st.acked, r.seq)
		}
		st.recs = append(st.recs, r)
		st.mu.Unlock()
	}
}

// preload writes n keys (split over the workers, pipelined 100 at a time
// through the active nodes in turn: with -faults join the 4th node has not
// started yet) before the load starts, and records them as
// the workers' first writes, so the read-backs and censuses check them
// like every other key. It fails on the first error: a preload runs on a
// healthy cluster.
func (l *load) preload(ctx context.Context, n int) error {
	const batch = 100
	per := (n + len(l.workers) - 1) / len(l.workers)
	var wg sync.WaitGroup
	errs := make([]error, len(l.workers))
	act := *l.active.Load()
	for w := range l.workers {
		wg.Go(func() {
			st := l.workers[w]
			for done := 0; done < per && ctx.Err() == nil; done += batch {
				k := min(batch, per-done)
				pipe := l.clients[act[(w+done/batch)%len(act)]].Pipeline()
				st.mu.Lock()
				first := int64(len(st.writes))
				for i := range k {
					seq := first + int64(i)
					st.writes = append(st.writes, write{worker: int32(w), seq: seq})
					pipe.Set(ctx, keyOf(int32(w), seq), valueOf(int32(w), seq, l.valueSize), 0)
				}
				st.mu.Unlock()
				cmds, err := pipe.Exec(ctx)
				st.mu.Lock()
				for i, c := range cmds {
					if c.Err() == nil {
						seq := first + int64(i)
						st.writes[seq].acked = true
						st.acked = append(st.acked, seq)
					}
				}
				st.mu.Unlock()
				if err != nil {
					errs[w] = fmt.Errorf("preload: %w", err)
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(append(errs, ctx.Err())...)
}

// snapshot returns every SET issued so far (acknowledged or not).
func (l *load) snapshot() []write {
	var out []write
	for _, st := range l.workers {
		st.mu.Lock()
		out = append(out, st.writes...)
		st.mu.Unlock()
	}
	return out
}

// records returns every operation recorded so far.
func (l *load) records() []rec {
	var out []rec
	for _, st := range l.workers {
		st.mu.Lock()
		out = append(out, st.recs...)
		st.mu.Unlock()
	}
	return out
}

// verifyResult counts what a read-back found.
type verifyResult struct {
	missing, wrong, unread int
	sample                 []string
	err                    error
}

func (r *verifyResult) merge(o verifyResult) {
	r.missing += o.missing
	r.wrong += o.wrong
	r.unread += o.unread
	for _, x := range o.sample {
		if len(r.sample) < 5 {
			r.sample = append(r.sample, x)
		}
	}
	if r.err == nil {
		r.err = o.err
	}
}

// verify reads every key of ws through client c (MGET in batches, from par
// goroutines) and reports acknowledged keys missing, values that are not
// the exact value (acknowledged or not), and keys it could not read
// because of errors.
func verify(ctx context.Context, c *redis.Client, ws []write, valueSize, par int) verifyResult {
	parts := make([]verifyResult, par)
	var wg sync.WaitGroup
	per := (len(ws) + par - 1) / par
	for i := range par {
		lo, hi := min(i*per, len(ws)), min((i+1)*per, len(ws))
		wg.Go(func() { parts[i] = verifyRange(ctx, c, ws[lo:hi], valueSize) })
	}
	wg.Wait()
	var r verifyResult
	for _, p := range parts {
		r.merge(p)
	}
	return r
}

func verifyRange(ctx context.Context, c *redis.Client, ws []write, valueSize int) (r verifyResult) {
	const batch = 256
	failedInARow := 0
	for lo := 0; lo < len(ws); lo += batch {
		if failedInARow >= 3 {
			// The node does not answer: count the rest unread rather than
			// spend 15 s on each batch.
			r.unread += len(ws) - lo
			break
		}
		hi := min(lo+batch, len(ws))
		keys := make([]string, 0, hi-lo)
		for _, w := range ws[lo:hi] {
			keys = append(keys, keyOf(w.worker, w.seq))
		}
		var vals []any
		var err error
		for try := 0; ; try++ {
			opCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			vals, err = c.MGet(opCtx, keys...).Result()
			cancel()
			if err == nil || try == 2 || ctx.Err() != nil {
				break
			}
		}
		if err != nil {
			r.unread += hi - lo
			r.err = err
			failedInARow++
			continue
		}
		failedInARow = 0
		for i, w := range ws[lo:hi] {
			switch v := vals[i].(type) {
			case nil:
				if w.acked {
					r.missing++
					if len(r.sample) < 5 {
						r.sample = append(r.sample, "missing "+keys[i])
					}
				}
			case string:
				if v != valueOf(w.worker, w.seq, valueSize) {
					r.wrong++
					if len(r.sample) < 5 {
						r.sample = append(r.sample, fmt.Sprintf("wrong %s = %.60q", keys[i], v))
					}
				}
			default:
				r.wrong++
			}
		}
	}
	return r
}
