package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gridkv/gridkv/gridkv"
	"github.com/gridkv/gridkv/gridkv/internal/testcluster"
	"github.com/gridkv/gridkv/gridkv/server"
	"github.com/gridkv/gridkv/store"
	"github.com/redis/go-redis/v9"
)

// TestMain runs the command itself when the test binary is started by
// TestSignal as a child process.
func TestMain(m *testing.M) {
	if os.Getenv("GRIDKV_TEST_RUN_MAIN") == "1" {
		os.Args = append([]string{"gridkv"}, strings.Fields(os.Getenv("GRIDKV_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	testcluster.Main(m)
}

func startRun(t *testing.T, args ...string) ([]nodeAddrs, func() error) {
	t.Helper()
	return startRunOut(t, io.Discard, args...)
}

// startRunOut is startRun with the command's standard output in stdout.
func startRunOut(t *testing.T, stdout io.Writer, args ...string) ([]nodeAddrs, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan []nodeAddrs, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, stdout, io.Discard, func(a []nodeAddrs) { got <- a }) }()
	select {
	case a := <-got:
		return a, func() error { cancel(); return <-done }
	case err := <-done:
		cancel()
		t.Fatalf("run %q: %v", args, err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("run %q: not up after 60 s", args)
	}
	return nil, nil
}

func TestServeAndLocal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	addrs, stop := startRun(t, "serve", "-bind", "127.0.0.1:0", "-redis", "127.0.0.1:0", "-http", "127.0.0.1:0", "-log-level", "error")
	c := redis.NewClient(&redis.Options{Addr: addrs[0].Redis})
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET = %q, %v", got, err)
	}
	c.Close()
	resp, err := http.Get("http://" + addrs[0].HTTP + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := stop(); err != nil {
		t.Fatalf("serve ended with %v", err)
	}

	var out lockedBuffer
	addrs, stop = startRunOut(t, &out, "local", "-n", "3", "-redis-port", "0", "-http-port", "-1", "-log-level", "error")
	if len(addrs) != 3 {
		t.Fatalf("local -n 3 started %d nodes", len(addrs))
	}
	if want := "redis-cli -p " + port(addrs[0].Redis); !strings.Contains(out.String(), want) {
		t.Fatalf("local -n 3 does not print how to connect (%q):\n%s", want, out.String())
	}
	c0 := redis.NewClient(&redis.Options{Addr: addrs[0].Redis})
	c2 := redis.NewClient(&redis.Options{Addr: addrs[2].Redis})
	defer c0.Close()
	defer c2.Close()
	if err := c0.Set(ctx, "local", "yes", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := c2.Get(ctx, "local").Result(); err != nil || got != "yes" {
		t.Fatalf("GET on another node = %q, %v", got, err)
	}
	c0.Close()
	c2.Close()
	if err := stop(); err != nil {
		t.Fatalf("local ended with %v", err)
	}
}

func TestFlagsFromEnvironment(t *testing.T) {
	f := newFlags("serve", io.Discard)
	env := map[string]string{"GRIDKV_SEEDS": "a:1,b:2", "GRIDKV_REPLICAS": "5", "GRIDKV_REDIS": "env:1", "GRIDKV_WRITE_QUORUM": "3"}
	if err := f.parse([]string{"-redis", "flag:2"}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	c, err := f.nodeConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%v %d %d %s", c.opts.SeedAddrs, c.opts.ReplicaCount, c.opts.WriteQuorum, c.redisAddr); got != "[a:1 b:2] 5 3 flag:2" {
		t.Fatalf("config from env and flags = %s", got)
	}
	bad := newFlags("serve", io.Discard)
	if err := bad.parse(nil, func(k string) string {
		if k == "GRIDKV_REPLICAS" {
			return "many"
		}
		return ""
	}); err == nil || !strings.Contains(err.Error(), "GRIDKV_REPLICAS") {
		t.Fatalf("bad env value: %v", err)
	}
	if err := run(context.Background(), []string{"bogus"}, io.Discard, io.Discard, nil); err == nil {
		t.Fatal("unknown command accepted")
	}
}

// TestSignal runs the real binary with no subcommand and stops it with
// SIGTERM: it must print where it listens, then leave and exit 0.
func TestSignal(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GRIDKV_TEST_RUN_MAIN=1",
		"GRIDKV_TEST_ARGS=-log-level error",
		"GRIDKV_BIND=127.0.0.1:0", "GRIDKV_REDIS=127.0.0.1:0", "GRIDKV_HTTP=127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var printed []string
	deadline := time.After(60 * time.Second)
	for up := false; !up; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("exited early: %q, %v", printed, cmd.Wait())
			}
			printed = append(printed, l)
			up = strings.Contains(l, "redis ")
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("not up after 60 s: %q", printed)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for l := range lines {
		printed = append(printed, l)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v; output %q", err, printed)
	}
	if all := strings.Join(printed, "\n"); !strings.Contains(all, "is up") || !strings.Contains(all, "shutting down") {
		t.Fatalf("output %q", printed)
	}
}

func TestDefaultsAreLoopbackAndProtected(t *testing.T) {
	f := newFlags("serve", io.Discard)
	if err := f.parse(nil, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	c, err := f.nodeConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%s %s %s %v", c.opts.LocalAddress, c.redisAddr, c.httpAddr, c.protected)
	if want := "127.0.0.1:7946 127.0.0.1:6380 127.0.0.1:8080 true"; got != want {
		t.Fatalf("defaults: %s, want %s", got, want)
	}
	if err := checkNodeTLS(c.opts, f.insecure); err != nil {
		t.Fatalf("the defaults need -insecure: %v", err)
	}
	off := newFlags("serve", io.Discard)
	if err := off.parse(nil, func(k string) string {
		return map[string]string{"GRIDKV_PROTECTED_MODE": "false", "GRIDKV_INSECURE": "true"}[k]
	}); err != nil {
		t.Fatal(err)
	}
	if c, _ := off.nodeConfig(nil); c.protected || !off.insecure {
		t.Fatalf("GRIDKV_PROTECTED_MODE=false GRIDKV_INSECURE=true: protected %v, insecure %v", c.protected, off.insecure)
	}
}

func TestCheckNodeTLS(t *testing.T) {
	for _, tc := range []struct {
		o        gridkv.Options
		insecure bool
		refused  string // the address named in the error, "" if accepted
	}{
		{gridkv.Options{LocalAddress: "127.0.0.1:7946"}, false, ""},
		{gridkv.Options{LocalAddress: "localhost:7946", SeedAddrs: []string{"127.0.0.2:7946", "[::1]:7946"}}, false, ""},
		{gridkv.Options{LocalAddress: "0.0.0.0:7946"}, false, "0.0.0.0:7946"},
		{gridkv.Options{LocalAddress: ":7946"}, false, ":7946"},
		{gridkv.Options{LocalAddress: "10.0.0.1:7946"}, false, "10.0.0.1:7946"},
		{gridkv.Options{LocalAddress: "127.0.0.1:7946", TransportAddress: "0.0.0.0:0"}, false, "0.0.0.0:0"},
		{gridkv.Options{LocalAddress: "127.0.0.1:7946", AdvertiseAddress: "203.0.113.1:7946"}, false, "203.0.113.1:7946"},
		{gridkv.Options{LocalAddress: "127.0.0.1:7946", SeedAddrs: []string{"127.0.0.1:1", "node2:7946"}}, false, "node2:7946"},
		{gridkv.Options{LocalAddress: "0.0.0.0:7946"}, true, ""},
		{gridkv.Options{LocalAddress: "0.0.0.0:7946", TLS: &tls.Config{}}, false, ""},
	} {
		err := checkNodeTLS(tc.o, tc.insecure)
		if (err == nil) != (tc.refused == "") || (err != nil && !strings.Contains(err.Error(), "address "+tc.refused+" ")) {
			t.Errorf("%+v insecure=%v: %v, want refused %q", tc.o, tc.insecure, err, tc.refused)
		}
	}
	err := run(context.Background(), []string{"serve", "-bind", "0.0.0.0:0", "-redis", "off", "-http", "off"}, io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "-insecure") {
		t.Fatalf("serve on 0.0.0.0 without TLS: %v", err)
	}
}

// TestServeProtectedMode runs the command with its Redis and HTTP
// listeners on every interface: a client that comes through this
// machine's non-loopback address is refused, one through 127.0.0.1 is
// served; with -protected-mode=false both are.
func TestServeProtectedMode(t *testing.T) {
	ip := testcluster.LocalIPv4()
	if ip == "" {
		t.Skip("no non-loopback IPv4 address on this machine")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, protected := range []bool{true, false} {
		addrs, stop := startRun(t, "serve", "-bind", "127.0.0.1:0", "-redis", "0.0.0.0:0", "-http", "0.0.0.0:0",
			"-log-level", "error", "-protected-mode="+fmt.Sprint(protected))
		remote := redis.NewClient(&redis.Options{Addr: net.JoinHostPort(ip, port(addrs[0].Redis)), MaxRetries: -1})
		local := redis.NewClient(&redis.Options{Addr: net.JoinHostPort("127.0.0.1", port(addrs[0].Redis)), MaxRetries: -1})
		err := remote.Set(ctx, "k", "v", 0).Err()
		if protected && (err == nil || !strings.HasPrefix(err.Error(), "DENIED")) || !protected && err != nil {
			t.Errorf("protected %v: SET from %s: %v", protected, ip, err)
		}
		if err := local.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Errorf("protected %v: SET from 127.0.0.1: %v", protected, err)
		}
		remote.Close()
		local.Close()
		resp, err := http.Get("http://" + net.JoinHostPort(ip, port(addrs[0].HTTP)) + "/v1/cluster")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[bool]int{true: 403, false: 200}[protected]; resp.StatusCode != want {
			t.Errorf("protected %v: GET /v1/cluster from %s: %d, want %d", protected, ip, resp.StatusCode, want)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOperatorFlags: every operator flag reaches its option, from the
// command line and from its GRIDKV_* variable, and the defaults are the
// library's.
func TestOperatorFlags(t *testing.T) {
	type got struct {
		Dead, Rebalance, Gossip, Failure, Suspect, Idle, Command time.Duration
		Key, Value, Conns, Request                               int
	}
	of := func(c nodeConfig) got {
		o, s := c.opts, c.srv
		return got{o.DeadMemberTimeout, o.RebalanceDelay, o.GossipInterval, o.FailureTimeout, o.SuspectTimeout, s.IdleTimeout, s.CommandTimeout,
			o.Storage.MaxKeySize, o.Storage.MaxValueSize, s.MaxConnections, s.MaxRequestBytes}
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want got
		err  string
	}{
		{name: "defaults", want: got{gridkv.DefaultDeadMemberTimeout, 0, 0, 0, 0, 0, server.DefaultCommandTimeout,
			store.DefaultMaxKeySize, store.DefaultMaxValueSize, server.DefaultMaxConnections, server.DefaultMaxRequestBytes}},
		{name: "flags", args: []string{"-dead-member-timeout", "30s", "-rebalance-delay", "-1s", "-gossip-interval", "1s",
			"-failure-timeout", "2s", "-suspect-timeout", "3s", "-idle-timeout", "10m", "-command-timeout", "7s",
			"-max-key-bytes", "100", "-max-value-bytes", "4194304", "-max-connections", "50"},
			want: got{30 * time.Second, -time.Second, time.Second, 2 * time.Second, 3 * time.Second, 10 * time.Minute, 7 * time.Second,
				100, 4 << 20, 50, 2*(4<<20) + 1<<20}},
		{name: "environment", env: map[string]string{"GRIDKV_DEAD_MEMBER_TIMEOUT": "-1s", "GRIDKV_REBALANCE_DELAY": "5s",
			"GRIDKV_GOSSIP_INTERVAL": "300ms", "GRIDKV_FAILURE_TIMEOUT": "400ms", "GRIDKV_SUSPECT_TIMEOUT": "5s",
			"GRIDKV_IDLE_TIMEOUT": "1h", "GRIDKV_COMMAND_TIMEOUT": "1s", "GRIDKV_MAX_KEY_BYTES": "200",
			"GRIDKV_MAX_VALUE_BYTES": "1000", "GRIDKV_MAX_CONNECTIONS": "7", "GRIDKV_MAX_REQUEST_BYTES": "9999"},
			want: got{-time.Second, 5 * time.Second, 300 * time.Millisecond, 400 * time.Millisecond, 5 * time.Second, time.Hour, time.Second,
				200, 1000, 7, 9999}},
		{name: "flag over environment", args: []string{"-max-connections", "3"}, env: map[string]string{"GRIDKV_MAX_CONNECTIONS": "7"},
			want: got{gridkv.DefaultDeadMemberTimeout, 0, 0, 0, 0, 0, server.DefaultCommandTimeout,
				store.DefaultMaxKeySize, store.DefaultMaxValueSize, 3, server.DefaultMaxRequestBytes}},
		{name: "zero dead member timeout", args: []string{"-dead-member-timeout", "0"}, err: "-dead-member-timeout 0"},
		{name: "zero connections", env: map[string]string{"GRIDKV_MAX_CONNECTIONS": "0"}, err: "must be positive"},
		{name: "negative idle", args: []string{"-idle-timeout", "-1s"}, err: "not negative"},
		{name: "bad duration", env: map[string]string{"GRIDKV_IDLE_TIMEOUT": "soon"}, err: "GRIDKV_IDLE_TIMEOUT"},
	} {
		f := newFlags("serve", io.Discard)
		err := f.parse(tc.args, func(k string) string { return tc.env[k] })
		var c nodeConfig
		if err == nil {
			c, err = f.nodeConfig(nil)
		}
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want one with %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if g := of(c); g != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, g, tc.want)
		}
	}
}

// lockedBuffer collects what several goroutines log.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeWarnsWhenUnprotected: serve warns at start for each protection
// it runs without (node TLS, gossip encryption, Redis password, HTTP
// token), and not for those it has.
func TestServeWarnsWhenUnprotected(t *testing.T) {
	warnings := []string{"INSECURE development TLS", "gossip is not encrypted", "-password", "-token"}
	for _, tc := range []struct {
		args []string
		want []bool
	}{
		{nil, []bool{true, true, true, true}},
		{[]string{"-encryption-key", strings.Repeat("ab", 16), "-password", "pw", "-token", "tk"}, []bool{true, false, false, false}},
	} {
		var stderr lockedBuffer
		ctx, cancel := context.WithCancel(context.Background())
		up := make(chan struct{})
		done := make(chan error, 1)
		args := append([]string{"serve", "-bind", "127.0.0.1:0", "-redis", "127.0.0.1:0", "-http", "127.0.0.1:0", "-log-level", "warn"}, tc.args...)
		go func() { done <- run(ctx, args, io.Discard, &stderr, func([]nodeAddrs) { close(up) }) }()
		select {
		case <-up:
		case err := <-done:
			cancel()
			t.Fatalf("serve %q: %v", tc.args, err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("serve %q ended with %v", tc.args, err)
		}
		for i, w := range warnings {
			if got := strings.Contains(stderr.String(), w); got != tc.want[i] {
				t.Errorf("serve %q: warning about %q: %v, want %v; log:\n%s", tc.args, w, got, tc.want[i], stderr.String())
			}
		}
	}
}
