// Command loadgen drives a running GridKV cluster (or any server that
// speaks the Redis protocol) over RESP with github.com/redis/go-redis/v9:
// a mix of GET and SET of random keys from concurrent workers, each
// operation sent to a random one of the given addresses. It prints the
// rate and the errors every second, and at the end the throughput and the
// latency percentiles p50, p99 and p99.9 from a log-linear histogram
// (clusterbench.Histogram, about 3% precision; no samples are sorted).
//
//	go run ./cmd/loadgen -addrs 127.0.0.1:6380,127.0.0.1:6381,127.0.0.1:6382 \
//	    -keys 100000 -value 100 -mix 50 -c 32 -d 30s
//
// Flags: -addrs, -keys (key space), -value (value size in bytes), -mix
// (percentage of GETs), -c (concurrent workers), -d (duration), -preload
// (SET every key once before measuring), -password, -timeout (per
// operation). A GET of a missing key is a miss, not an error. Ctrl-C stops
// early and still prints the summary. The exit status is 1 when any
// operation failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gridkv/gridkv/benchmarks/clusterbench"
	"github.com/gridkv/gridkv/benchmarks/internal/redisclient"
	"github.com/redis/go-redis/v9"
)

func main() {
	addrs := flag.String("addrs", "127.0.0.1:6380", "comma-separated RESP addresses of the nodes")
	keys := flag.Int("keys", 100000, "number of distinct keys")
	valueSize := flag.Int("value", 100, "value size in bytes")
	mix := flag.Int("mix", 50, "percentage of GETs (the rest are SETs)")
	conc := flag.Int("c", 32, "concurrent workers")
	dur := flag.Duration("d", 30*time.Second, "duration of the measurement")
	preload := flag.Bool("preload", false, "SET every key once before measuring")
	password := flag.String("password", "", "password sent with AUTH")
	timeout := flag.Duration("timeout", 5*time.Second, "deadline of one operation")
	flag.Parse()
	if *keys < 1 || *valueSize < 0 || *mix < 0 || *mix > 100 || *conc < 1 || *dur <= 0 {
		fmt.Fprintln(os.Stderr, "loadgen: want -keys ≥ 1, -value ≥ 0, 0 ≤ -mix ≤ 100, -c ≥ 1, -d > 0")
		os.Exit(2)
	}
	var clients []*redis.Client
	for a := range strings.SplitSeq(*addrs, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		clients = append(clients, redisclient.New(a, redisclient.Options{
			Password: *password, PoolSize: *conc, DialTimeout: *timeout, Timeout: *timeout,
		}))
	}
	if len(clients) == 0 {
		fmt.Fprintln(os.Stderr, "loadgen: -addrs is empty")
		os.Exit(2)
	}
	defer func() {
		for _, c := range clients {
			_ = c.Close()
		}
	}()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	value := make([]byte, *valueSize)
	for i := range value {
		value[i] = 'a' + byte(i%26)
	}
	key := func(i int) string { return "loadgen:" + strconv.Itoa(i) }

	if *preload {
		start := time.Now()
		if err := doPreload(ctx, clients, *keys, *conc, key, value, *timeout); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen: preload:", err)
			os.Exit(1)
		}
		fmt.Printf("preloaded %d keys in %v\n", *keys, time.Since(start).Round(time.Millisecond))
	}

	var ops, errs, misses atomic.Uint64
	var lastErr atomic.Value
	hists := make([]clusterbench.Histogram, *conc)
	runCtx, cancel := context.WithTimeout(ctx, *dur)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range *conc {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			h := &hists[w]
			for runCtx.Err() == nil {
				c := clients[rng.IntN(len(clients))]
				k := key(rng.IntN(*keys))
				opCtx, opCancel := context.WithTimeout(context.Background(), *timeout)
				t0 := time.Now()
				var err error
				if rng.IntN(100) < *mix {
					err = c.Get(opCtx, k).Err()
					if errors.Is(err, redis.Nil) {
						misses.Add(1)
						err = nil
					}
				} else {
					err = c.Set(opCtx, k, value, 0).Err()
				}
				h.Record(time.Since(t0))
				opCancel()
				ops.Add(1)
				if err != nil {
					errs.Add(1)
					lastErr.Store(err.Error())
				}
			}
		})
	}

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var prevOps, prevErrs uint64
	prevT := start
loop:
	for {
		select {
		case <-done:
			break loop
		case now := <-tick.C:
			o, e := ops.Load(), errs.Load()
			rate := float64(o-prevOps) / now.Sub(prevT).Seconds()
			msg := ""
			if e > prevErrs {
				msg, _ = lastErr.Load().(string)
				msg = "  last error: " + msg
			}
			fmt.Printf("%4.0fs  %9.0f ops/s  %6d errors%s\n", now.Sub(start).Seconds(), rate, e-prevErrs, msg)
			prevOps, prevErrs, prevT = o, e, now
		}
	}
	elapsed := time.Since(start)
	var all clusterbench.Histogram
	for i := range hists {
		all.Merge(&hists[i])
	}
	o, e := ops.Load(), errs.Load()
	fmt.Printf("\n%d operations in %v (%d nodes, %d workers, %d%% GET, %d keys, %d-byte values)\n",
		o, elapsed.Round(time.Millisecond), len(clients), *conc, *mix, *keys, *valueSize)
	fmt.Printf("throughput  %.0f ops/s\n", float64(o)/elapsed.Seconds())
	fmt.Printf("errors      %d\n", e)
	fmt.Printf("GET misses  %d\n", misses.Load())
	fmt.Printf("latency     p50 %v  p99 %v  p99.9 %v\n",
		all.Quantile(0.50), all.Quantile(0.99), all.Quantile(0.999))
	if e > 0 {
		os.Exit(1)
	}
}

func doPreload(ctx context.Context, clients []*redis.Client, keys, conc int, key func(int) string, value []byte, timeout time.Duration) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			c := clients[w%len(clients)]
			const batch = 100
			for ctx.Err() == nil {
				lo := int(next.Add(batch)) - batch
				if lo >= keys {
					return
				}
				hi := min(lo+batch, keys)
				opCtx, cancel := context.WithTimeout(ctx, timeout)
				_, err := c.Pipelined(opCtx, func(p redis.Pipeliner) error {
					for i := lo; i < hi; i++ {
						p.Set(opCtx, key(i), value, 0)
					}
					return nil
				})
				cancel()
				if err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return first
}
