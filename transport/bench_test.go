package transport

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

// The baseline for every benchmark is plain TCP on loopback: a 4-byte length
// prefix, one connection per concurrent caller, no TLS, an echo server with a
// goroutine per connection. Compare the quic and tcp sub-benchmarks of the
// same run:
//
//	go test -run '^$' -bench 'Call' -benchmem -count 5 .

const benchPayload = 100

// latencies keeps a bounded sample of call durations for percentiles.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
	n  int
}

const maxSamples = 1 << 16

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	if len(l.d) < maxSamples {
		l.d = append(l.d, d)
	} else {
		l.d[l.n%maxSamples] = d
	}
	l.n++
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	if len(l.d) == 0 {
		return
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	b.ReportMetric(float64(s[len(s)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(s[len(s)*99/100].Nanoseconds()), "p99-ns")
}

// tcpEcho is the baseline server.
func tcpEcho(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	b.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				buf := make([]byte, 4+64<<10)
				for {
					if _, err := io.ReadFull(c, buf[:4]); err != nil {
						return
					}
					n := binary.BigEndian.Uint32(buf[:4])
					if _, err := io.ReadFull(c, buf[4:4+n]); err != nil {
						return
					}
					if _, err := c.Write(buf[:4+n]); err != nil {
						return
					}
				}
			})
		}
	})
	return ln.Addr().String()
}

type tcpClient struct {
	c   net.Conn
	buf []byte
}

func dialTCP(b *testing.B, addr string) *tcpClient {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	return &tcpClient{c: c, buf: make([]byte, 4+64<<10)}
}

func (t *tcpClient) call(req []byte) ([]byte, error) {
	binary.BigEndian.PutUint32(t.buf, uint32(len(req)))
	copy(t.buf[4:], req)
	if _, err := t.c.Write(t.buf[:4+len(req)]); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(t.c, t.buf[:4]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(t.buf[:4])
	_, err := io.ReadFull(t.c, t.buf[4:4+n])
	return t.buf[4 : 4+n], err
}

func benchPair(b *testing.B) (cli *Transport, addr string) {
	srv := newTestTransport(b, echo, nil)
	cli = newTestTransport(b, nil, nil)
	addr = srv.Addr().String()
	if _, err := cli.Call(context.Background(), addr, []byte("warm up")); err != nil {
		b.Fatal(err)
	}
	return cli, addr
}

// BenchmarkCallSequential: one caller, one call at a time; p50-ns is the
// round trip.
func BenchmarkCallSequential(b *testing.B) {
	req := make([]byte, benchPayload)
	b.Run("quic", func(b *testing.B) {
		cli, addr := benchPair(b)
		ctx := context.Background()
		var lat latencies
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			start := time.Now()
			if _, err := cli.Call(ctx, addr, req); err != nil {
				b.Fatal(err)
			}
			lat.add(time.Since(start))
		}
		lat.report(b)
	})
	b.Run("rawquic", func(b *testing.B) {
		s := rawQUICPair(b)
		buf := make([]byte, benchPayload)
		var lat latencies
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			start := time.Now()
			if _, err := s.Write(req); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(s, buf); err != nil {
				b.Fatal(err)
			}
			lat.add(time.Since(start))
		}
		lat.report(b)
	})
	b.Run("tcp", func(b *testing.B) {
		c := dialTCP(b, tcpEcho(b))
		defer c.c.Close()
		var lat latencies
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			start := time.Now()
			if _, err := c.call(req); err != nil {
				b.Fatal(err)
			}
			lat.add(time.Since(start))
		}
		lat.report(b)
	})
}

const parallelCallers = 32

// BenchmarkCallParallel: 32 concurrent callers to one peer; calls/s is the
// throughput. quic multiplexes them over one connection, tcp uses 32.
func BenchmarkCallParallel(b *testing.B) {
	req := make([]byte, benchPayload)
	par := (parallelCallers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0)
	b.Run("quic", func(b *testing.B) {
		cli, addr := benchPair(b)
		ctx := context.Background()
		b.ReportAllocs()
		b.SetParallelism(par)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := cli.Call(ctx, addr, req); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
	})
	b.Run("tcp", func(b *testing.B) {
		addr := tcpEcho(b)
		b.ReportAllocs()
		b.SetParallelism(par)
		var conns sync.Map
		var idx atomic.Int64
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			c := dialTCP(b, addr)
			conns.Store(idx.Add(1), c)
			for pb.Next() {
				if _, err := c.call(req); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
		conns.Range(func(_, v any) bool { v.(*tcpClient).c.Close(); return true })
	})
}

// BenchmarkIdleConnMemory reports the memory (heap and goroutine stacks) held
// per idle connection, both of its ends (QUIC state, streams, readers),
// measured over K connections from K client Transports to one server; the
// Transports themselves exist before the first measurement.
func BenchmarkIdleConnMemory(b *testing.B) {
	const k = 50
	for b.Loop() {
		func() {
			srv := newTestTransport(b, echo, nil)
			clis := make([]*Transport, k)
			for i := range clis {
				clis[i] = newTestTransport(b, nil, nil)
			}
			beforeHeap, beforeStack := memInUse()
			for _, c := range clis {
				if _, err := c.Call(context.Background(), srv.Addr().String(), []byte("x")); err != nil {
					b.Fatal(err)
				}
			}
			time.Sleep(50 * time.Millisecond) // let handshake leftovers settle
			afterHeap, afterStack := memInUse()
			b.ReportMetric(float64(afterHeap-beforeHeap+afterStack-beforeStack)/k, "B/conn")
			b.ReportMetric(float64(afterStack-beforeStack)/k, "stack-B/conn")
			for _, c := range clis {
				c.Close()
			}
			srv.Close()
		}()
	}
}

func memInUse() (heap, stack int64) {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse), int64(m.StackInuse)
}

// rawQUICPair is the floor this package can reach: one quic-go stream, the
// client writes 100 bytes and reads them back from a server goroutine that
// echoes in a loop; no framing, no multiplexing.
func rawQUICPair(b *testing.B) *quic.Stream {
	srvTLS, cliTLS, err := mutualTLS(testTLS(b))
	if err != nil {
		b.Fatal(err)
	}
	ln, err := quic.ListenAddr("127.0.0.1:0", srvTLS, nil)
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	b.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		c, err := ln.Accept(context.Background())
		if err != nil {
			return
		}
		s, err := c.AcceptStream(context.Background())
		if err != nil {
			return
		}
		buf := make([]byte, benchPayload)
		for {
			if _, err := io.ReadFull(s, buf); err != nil {
				return
			}
			if _, err := s.Write(buf); err != nil {
				return
			}
		}
	})
	c, err := quic.DialAddr(context.Background(), ln.Addr().String(), cliTLS, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.CloseWithError(0, "") })
	s, err := c.OpenStream()
	if err != nil {
		b.Fatal(err)
	}
	return s
}
