package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridkv/gridkv/gridkv"
	"github.com/gridkv/gridkv/gridkv/internal/testcluster"
	"github.com/gridkv/gridkv/gridkv/server"
	"github.com/redis/go-redis/v9"
)

// redisNode is a cluster node served over RESP on a loopback port.
type redisNode struct {
	g    *gridkv.GridKV
	resp *server.RESP
	addr string
	done chan error
	once sync.Once
}

func (n *redisNode) close() {
	n.once.Do(func() {
		n.resp.Close()
		<-n.done
		n.g.Close()
	})
}

// serveRedis starts a RESP server for each node; they are closed at the
// end of the test.
func serveRedis(t *testing.T, nodes []*gridkv.GridKV, cfg server.Config) []*redisNode {
	t.Helper()
	out := make([]*redisNode, len(nodes))
	for i, g := range nodes {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		n := &redisNode{g: g, resp: server.NewRESP(g, cfg), addr: ln.Addr().String(), done: make(chan error, 1)}
		go func() { n.done <- n.resp.Serve(ln) }()
		out[i] = n
	}
	t.Cleanup(func() {
		for _, n := range out {
			n.close()
		}
	})
	return out
}

func client(t *testing.T, addr string, mod func(*redis.Options)) *redis.Client {
	o := &redis.Options{Addr: addr, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, MaxRetries: -1, PoolSize: 4}
	if mod != nil {
		mod(o)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

// valueOf is the exact value stored under key in these tests.
func valueOf(key string) string { return "value-of:" + key + ":" + strconv.Itoa(len(key)) }

func TestRedisEndToEnd(t *testing.T) {
	nodes := serveRedis(t, testcluster.Start(t, 3, nil), server.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cs := make([]*redis.Client, len(nodes))
	for i, n := range nodes {
		cs[i] = client(t, n.addr, nil)
	}

	t.Run("ping echo info command", func(t *testing.T) {
		if got, err := cs[0].Ping(ctx).Result(); err != nil || got != "PONG" {
			t.Fatalf("PING = %q, %v", got, err)
		}
		if got, err := cs[1].Echo(ctx, "hi").Result(); err != nil || got != "hi" {
			t.Fatalf("ECHO = %q, %v", got, err)
		}
		if got, err := cs[2].Info(ctx).Result(); err != nil || !strings.Contains(got, "gridkv_node:node-2") {
			t.Fatalf("INFO = %q, %v", got, err)
		}
		if err := cs[0].Do(ctx, "COMMAND").Err(); err != nil {
			t.Fatalf("COMMAND: %v", err)
		}
	})

	t.Run("exact values from every node", func(t *testing.T) {
		for i := range 60 {
			k := fmt.Sprintf("exact:%d", i)
			if err := cs[i%3].Set(ctx, k, valueOf(k), 0).Err(); err != nil {
				t.Fatalf("SET %s: %v", k, err)
			}
		}
		for i := range 60 {
			k := fmt.Sprintf("exact:%d", i)
			for j, c := range cs {
				if got, err := c.Get(ctx, k).Result(); err != nil || got != valueOf(k) {
					t.Fatalf("node %d GET %s = %q, %v", j, k, got, err)
				}
			}
		}
		if _, err := cs[1].Get(ctx, "exact:missing").Result(); err != redis.Nil {
			t.Fatalf("GET missing: %v, want redis.Nil", err)
		}
	})

	t.Run("set options", func(t *testing.T) {
		c := cs[0]
		if ok, err := c.SetNX(ctx, "opt:nx", "1", 0).Result(); err != nil || !ok {
			t.Fatalf("SETNX new = %v, %v", ok, err)
		}
		if ok, err := c.SetNX(ctx, "opt:nx", "2", 0).Result(); err != nil || ok {
			t.Fatalf("SETNX existing = %v, %v", ok, err)
		}
		if ok, err := c.SetXX(ctx, "opt:xx", "1", 0).Result(); err != nil || ok {
			t.Fatalf("SETXX missing = %v, %v", ok, err)
		}
		if ok, err := c.SetXX(ctx, "opt:nx", "3", 0).Result(); err != nil || !ok {
			t.Fatalf("SETXX existing = %v, %v", ok, err)
		}
		if old, err := c.SetArgs(ctx, "opt:nx", "4", redis.SetArgs{Get: true}).Result(); err != nil || old != "3" {
			t.Fatalf("SET GET = %q, %v", old, err)
		}
		if got, _ := cs[2].Get(ctx, "opt:nx").Result(); got != "4" {
			t.Fatalf("after SET GET: %q", got)
		}
		if err := c.Set(ctx, "opt:ex", "v", 100*time.Second).Err(); err != nil {
			t.Fatal(err)
		}
		if d, err := cs[1].TTL(ctx, "opt:ex").Result(); err != nil || d < 98*time.Second || d > 100*time.Second {
			t.Fatalf("TTL after EX 100 = %v, %v", d, err)
		}
		if err := c.Set(ctx, "opt:px", "v", 1500*time.Millisecond).Err(); err != nil {
			t.Fatal(err)
		}
		if d, err := cs[2].PTTL(ctx, "opt:px").Result(); err != nil || d <= 0 || d > 1500*time.Millisecond {
			t.Fatalf("PTTL after PX 1500 = %v, %v", d, err)
		}
	})

	t.Run("ttl expiry and expire", func(t *testing.T) {
		if err := cs[0].Set(ctx, "ttl:short", "v", 300*time.Millisecond).Err(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := cs[1].Get(ctx, "ttl:short").Result()
			if err == redis.Nil {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatal("a 300 ms TTL key still reads after 10 s")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if d, err := cs[2].TTL(ctx, "ttl:short").Result(); err != nil || d != -2 {
			t.Fatalf("TTL of expired = %v, %v; want -2 (ns)", d, err)
		}
		cs[0].Set(ctx, "ttl:k", "v", 0)
		if d, _ := cs[1].TTL(ctx, "ttl:k").Result(); d != -1 {
			t.Fatalf("TTL without expiry = %v; want -1 (ns)", d)
		}
		if ok, err := cs[1].Expire(ctx, "ttl:k", 60*time.Second).Result(); err != nil || !ok {
			t.Fatalf("EXPIRE = %v, %v", ok, err)
		}
		if d, _ := cs[2].TTL(ctx, "ttl:k").Result(); d < 58*time.Second || d > 60*time.Second {
			t.Fatalf("TTL after EXPIRE 60 = %v", d)
		}
		if ok, err := cs[2].PExpire(ctx, "ttl:k", 5000*time.Millisecond).Result(); err != nil || !ok {
			t.Fatalf("PEXPIRE = %v, %v", ok, err)
		}
		if d, _ := cs[0].PTTL(ctx, "ttl:k").Result(); d <= 0 || d > 5*time.Second {
			t.Fatalf("PTTL after PEXPIRE 5000 = %v", d)
		}
		if got, _ := cs[0].Get(ctx, "ttl:k").Result(); got != "v" {
			t.Fatalf("EXPIRE changed the value: %q", got)
		}
		if ok, _ := cs[0].Expire(ctx, "ttl:missing", time.Second).Result(); ok {
			t.Fatal("EXPIRE of a missing key = true")
		}
	})

	t.Run("del exists mget mset", func(t *testing.T) {
		if err := cs[0].MSet(ctx, "m:a", valueOf("m:a"), "m:b", valueOf("m:b"), "m:c", valueOf("m:c")).Err(); err != nil {
			t.Fatal(err)
		}
		got, err := cs[1].MGet(ctx, "m:a", "m:b", "m:none", "m:c").Result()
		if err != nil {
			t.Fatal(err)
		}
		want := []any{valueOf("m:a"), valueOf("m:b"), nil, valueOf("m:c")}
		if !slices.Equal(got, want) {
			t.Fatalf("MGET = %v, want %v", got, want)
		}
		if n, err := cs[2].Exists(ctx, "m:a", "m:b", "m:none").Result(); err != nil || n != 2 {
			t.Fatalf("EXISTS = %d, %v", n, err)
		}
		if n, err := cs[2].Del(ctx, "m:a", "m:none").Result(); err != nil || n != 1 {
			t.Fatalf("DEL = %d, %v", n, err)
		}
		for j, c := range cs {
			if _, err := c.Get(ctx, "m:a").Result(); err != redis.Nil {
				t.Fatalf("node %d GET deleted key: %v", j, err)
			}
		}
	})

	t.Run("scan and dbsize", func(t *testing.T) {
		want := make([]string, 50)
		for i := range want {
			want[i] = fmt.Sprintf("scan:%02d", i)
			if err := cs[i%3].Set(ctx, want[i], valueOf(want[i]), 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		iter := cs[1].Scan(ctx, 0, "scan:*", 7).Iterator()
		for iter.Next(ctx) {
			got = append(got, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("SCAN MATCH scan:* = %v\nwant %v", got, want)
		}
		n1, err := cs[0].DBSize(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		var all []string
		iter = cs[2].Scan(ctx, 0, "", 1000).Iterator()
		for iter.Next(ctx) {
			all = append(all, iter.Val())
		}
		if int64(len(all)) != n1 {
			t.Fatalf("DBSIZE = %d, a full SCAN gives %d keys", n1, len(all))
		}
	})

	t.Run("pipelining", func(t *testing.T) {
		pipe := cs[0].Pipeline()
		for i := range 200 {
			k := fmt.Sprintf("pipe:%d", i)
			pipe.Set(ctx, k, valueOf(k), 0)
		}
		gets := make([]*redis.StringCmd, 200)
		for i := range gets {
			gets[i] = pipe.Get(ctx, fmt.Sprintf("pipe:%d", i))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		for i, g := range gets {
			if k := fmt.Sprintf("pipe:%d", i); g.Val() != valueOf(k) {
				t.Fatalf("pipelined GET %s = %q", k, g.Val())
			}
		}
	})

	t.Run("errors keep the connection", func(t *testing.T) {
		c := client(t, nodes[0].addr, func(o *redis.Options) { o.PoolSize = 1 })
		if err := c.Do(ctx, "GET").Err(); err == nil || !strings.Contains(err.Error(), "wrong number of arguments") {
			t.Fatalf("GET without key: %v", err)
		}
		if err := c.Do(ctx, "NOSUCHCMD", "x").Err(); err == nil || !strings.Contains(err.Error(), "unknown command") {
			t.Fatalf("unknown command: %v", err)
		}
		big := strings.Repeat("k", 5000)
		if err := c.Set(ctx, big, "v", 0).Err(); err == nil || !strings.Contains(err.Error(), "key too large") {
			t.Fatalf("SET big key: %v", err)
		}
		if err := c.Set(ctx, "err:bigval", strings.Repeat("v", 1<<20+1), 0).Err(); err == nil || !strings.Contains(err.Error(), "value too large") {
			t.Fatalf("SET big value: %v", err)
		}
		if n, err := cs[1].Exists(ctx, "err:bigval").Result(); err != nil || n != 0 {
			t.Fatalf("refused value stored: EXISTS = %d, %v", n, err)
		}
		if got, err := c.Ping(ctx).Result(); err != nil || got != "PONG" {
			t.Fatalf("connection unusable after errors: %q, %v", got, err)
		}
		if st := c.PoolStats(); st.TotalConns != 1 {
			t.Fatalf("the client opened %d connections, want 1", st.TotalConns)
		}
	})

	t.Run("quit", func(t *testing.T) {
		conn, err := net.Dial("tcp", nodes[1].addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprint(conn, "PING\r\nQUIT\r\n")
		rd := bufio.NewReader(conn)
		for _, want := range []string{"+PONG\r\n", "+OK\r\n"} {
			if line, err := rd.ReadString('\n'); err != nil || line != want {
				t.Fatalf("read %q, %v; want %q", line, err, want)
			}
		}
		if _, err := rd.ReadByte(); err == nil {
			t.Fatal("connection still open after QUIT")
		}
	})

	t.Run("metrics move", func(t *testing.T) {
		h := httptest.NewServer(server.NewHTTP(nodes[0].g, server.Config{}))
		defer h.Close()
		before := scrape(t, h.URL)
		for i := range 10 {
			cs[0].Set(ctx, fmt.Sprintf("metrics:%d", i), "v", 0)
			cs[0].Get(ctx, fmt.Sprintf("metrics:%d", i))
		}
		after := scrape(t, h.URL)
		for _, name := range []string{`gridkv_operations_total{op="set"}`, `gridkv_operations_total{op="get"}`, `gridkv_operation_duration_seconds_count{op="set"}`} {
			if after[name] < before[name]+10 {
				t.Errorf("%s moved from %v to %v, want +10", name, before[name], after[name])
			}
		}
		// Under load a peer may be suspect (local evidence only) for a while.
		if live := after[`gridkv_members{state="alive"}`] + after[`gridkv_members{state="suspect"}`]; live != 3 || after["gridkv_store_keys"] < 10 {
			t.Errorf("members alive or suspect = %v, store keys = %v", live, after["gridkv_store_keys"])
		}
	})

	// Last, as it closes node 2: writers through nodes 0 and 1 run while
	// node 2 goes away; every acknowledged write must read back exactly.
	t.Run("node closed mid-run loses no acknowledged write", func(t *testing.T) {
		var acked sync.Map
		var stop atomic.Bool
		var wg sync.WaitGroup
		var nAcked atomic.Int64
		for w := range 4 {
			wg.Go(func() {
				c := cs[w%2]
				for i := 0; !stop.Load(); i++ {
					k := fmt.Sprintf("crash:%d:%d", w, i)
					wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					err := c.Set(wctx, k, valueOf(k), 0).Err()
					cancel()
					if err == nil {
						acked.Store(k, true)
						nAcked.Add(1)
					}
				}
			})
		}
		waitFor(t, func() bool { return nAcked.Load() >= 100 })
		nodes[2].close()
		mark := nAcked.Load()
		waitFor(t, func() bool { return nAcked.Load() >= mark+100 })
		stop.Store(true)
		wg.Wait()
		checked := 0
		acked.Range(func(k, _ any) bool {
			key := k.(string)
			for j, c := range cs[:2] {
				got, err := c.Get(ctx, key).Result()
				if err != nil || got != valueOf(key) {
					t.Errorf("acknowledged %s: node %d GET = %q, %v", key, j, got, err)
					return false
				}
			}
			checked++
			return true
		})
		t.Logf("%d acknowledged writes (%d after the close) read back exactly", checked, checked-int(mark))
	})
}

// waitFor polls cond until it holds, failing the test after 30 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRedisDeleteOnNonReplica(t *testing.T) {
	gs := testcluster.Start(t, 3, func(_ int, o *gridkv.Options) { o.ReplicaCount, o.WriteQuorum, o.ReadQuorum = 2, 2, 1 })
	nodes := serveRedis(t, gs, server.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Find a key that node 0 does not hold.
	key := ""
	for i := 0; key == ""; i++ {
		k := fmt.Sprintf("nonreplica:%d", i)
		if !slices.Contains(gs[0].Replicas(k), gs[0].ID()) {
			key = k
		}
	}
	c0 := client(t, nodes[0].addr, nil)
	if err := client(t, nodes[1].addr, nil).Set(ctx, key, valueOf(key), 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := c0.Get(ctx, key).Result(); err != nil || got != valueOf(key) {
		t.Fatalf("GET through a non-replica = %q, %v", got, err)
	}
	if n, err := c0.Del(ctx, key).Result(); err != nil || n != 1 {
		t.Fatalf("DEL through a non-replica = %d, %v", n, err)
	}
	for j, n := range nodes {
		if _, err := client(t, n.addr, nil).Get(ctx, key).Result(); err != redis.Nil {
			t.Fatalf("node %d still reads the deleted key: %v", j, err)
		}
	}
}

// TestRedisAuth: on a 3-node cluster with a password, go-redis
// authenticates through HELLO (RESP2: HELLO 2 AUTH; default protocol:
// HELLO 3, NOPROTO, then AUTH) and a connection without it is refused.
func TestRedisAuth(t *testing.T) {
	nodes := serveRedis(t, testcluster.Start(t, 3, nil), server.Config{Password: "s3cret"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := client(t, nodes[0].addr, nil).Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("PING without password: %v", err)
	}
	if err := client(t, nodes[0].addr, func(o *redis.Options) { o.Password = "wrong" }).Ping(ctx).Err(); err == nil {
		t.Fatal("PING with a wrong password succeeded")
	}
	for i, proto := range []int{0, 2} {
		k := fmt.Sprint("auth:", proto)
		c := client(t, nodes[i].addr, func(o *redis.Options) { o.Password, o.Protocol = "s3cret", proto })
		if err := c.Set(ctx, k, valueOf(k), 0).Err(); err != nil {
			t.Fatalf("protocol %d: SET with the password: %v", proto, err)
		}
		c2 := client(t, nodes[2].addr, func(o *redis.Options) { o.Username, o.Password, o.Protocol = "default", "s3cret", proto })
		if got, err := c2.Get(ctx, k).Result(); err != nil || got != valueOf(k) {
			t.Fatalf("protocol %d: GET on another node = %q, %v", proto, got, err)
		}
	}
}

// scrape reads /metrics into name{labels} → value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d, %v", resp.StatusCode, err)
	}
	return testcluster.ParseMetrics(t, string(body))
}

// TestRedisRequestLimit: a client that sends more than MaxRequestBytes
// without completing a command is disconnected; others are not.
func TestRedisRequestLimit(t *testing.T) {
	nodes := serveRedis(t, testcluster.Start(t, 1, nil), server.Config{MaxRequestBytes: 64 << 10})
	conn, err := net.Dial("tcp", nodes[0].addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	// A bulk string announced as 1 GB: the server must not wait for it all.
	fmt.Fprint(conn, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000000000\r\n")
	chunk := make([]byte, 16<<10)
	var werr error
	for i := 0; i < 1024 && werr == nil; i++ { // up to 16 MiB
		_, werr = conn.Write(chunk)
	}
	if werr == nil {
		// The server may answer a protocol error before it closes.
		got, err := io.ReadAll(conn)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection still open after 16 MiB of one unfinished command: %v", err)
		}
		if len(got) > 0 && !strings.HasPrefix(string(got), "-ERR Protocol error") {
			t.Fatalf("reply %q before the close", got)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client(t, nodes[0].addr, nil).Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("another client after the limit: %v", err)
	}
}

// TestHTTPOnCluster drives the HTTP API of real nodes.
func TestHTTPOnCluster(t *testing.T) {
	gs := testcluster.Start(t, 3, nil)
	cs := make([]*httpClient, len(gs))
	for i, g := range gs {
		cs[i] = newHTTP(t, g, server.Config{})
	}
	if code, _ := cs[0].do("PUT", "/v1/keys/http:1?ttl=60", "one"); code != 204 {
		t.Fatalf("PUT: %d", code)
	}
	if code, body := cs[2].do("GET", "/v1/keys/http:1", ""); code != 200 || body != "one" {
		t.Fatalf("GET on another node: %d %q", code, body)
	}
	if code, _ := cs[1].do("DELETE", "/v1/keys/http:1", ""); code != 204 {
		t.Fatalf("DELETE: %d", code)
	}
	if code, _ := cs[0].do("GET", "/v1/keys/http:1", ""); code != 404 {
		t.Fatalf("GET after DELETE: %d", code)
	}
	if code, body := cs[0].do("POST", "/api/v1/memory/set", `{"userId":"u1","key":"k","value":"v"}`); code != 200 {
		t.Fatalf("memory set: %d %s", code, body)
	}
	if code, body := cs[1].do("POST", "/api/v1/memory/list", `{"userId":"u1"}`); code != 200 || strings.TrimSpace(body) != `{"keys":["k"]}` {
		t.Fatalf("memory list on another node: %d %s", code, body)
	}
	if it, err := gs[2].Namespace("u1").GetItem(context.Background(), "k"); err != nil || string(it.Value) != "v" {
		t.Fatalf("memory API key through Namespace: %+v, %v", it, err)
	}
	// RTTs are measured by the failure detector's probes: wait for one.
	waitFor(t, func() bool {
		_, body := cs[0].do("GET", "/v1/cluster", "")
		m := jsonOf(t, body)
		ms := m["members"].([]any)
		for _, x := range ms {
			mm := x.(map[string]any)
			if mm["local"] == false && mm["rttMillis"].(float64) > 0 && len(ms) == 3 {
				return true
			}
		}
		return false
	})
	// Ring ownership: with N=3 on three nodes each holds every key.
	_, body := cs[2].do("GET", "/v1/cluster", "")
	primary := 0.0
	for _, x := range jsonOf(t, body)["members"].([]any) {
		mm := x.(map[string]any)
		o, ok := mm["ownership"].(map[string]any)
		if !ok || o["replica"].(float64) < 0.999999 || o["primary"].(float64) <= 0 {
			t.Fatalf("member %v: ownership %v", mm["id"], mm["ownership"])
		}
		primary += o["primary"].(float64)
	}
	if primary < 0.999999 || primary > 1.000001 {
		t.Fatalf("owners cover %v of the hash space, want 1: %s", primary, body)
	}
	if code, body := cs[1].do("GET", "/readyz", ""); code != 200 {
		t.Fatalf("readyz: %d %s", code, body)
	}
	gs[1].Close()
	if code, _ := cs[1].do("GET", "/readyz", ""); code != 503 {
		t.Fatalf("readyz of a closed node: %d, want 503", code)
	}
	if code, _ := cs[1].do("GET", "/v1/keys/x", ""); code != 503 {
		t.Fatalf("GET on a closed node: %d, want 503", code)
	}
}

// slowKV delays Set, so that a command is in progress when Close runs.
type slowKV struct {
	*fakeKV
	started chan struct{}
}

func (s slowKV) Set(ctx context.Context, key string, value []byte, opts ...gridkv.Option) error {
	close(s.started)
	time.Sleep(300 * time.Millisecond)
	return s.fakeKV.Set(ctx, key, value, opts...)
}

// TestRESPCloseDrains: Close lets the command in progress finish and
// answers it before closing the connection.
func TestRESPCloseDrains(t *testing.T) {
	kv := slowKV{fakeKV: newFakeKV(), started: make(chan struct{})}
	r := server.NewRESP(kv, server.Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Serve(ln) }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(conn, "SET k v\r\n")
	<-kv.started
	closed := make(chan error, 1)
	go func() { closed <- r.Close() }()
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || line != "+OK\r\n" {
		t.Fatalf("reply to the command in progress during Close: %q, %v", line, err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve after Close: %v", err)
	}
	if it, err := kv.GetItem(context.Background(), "k"); err != nil || string(it.Value) != "v" {
		t.Fatalf("the drained SET was not applied: %v", err)
	}
}
