package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gridkv/gridkv/gridkv/internal/testcluster"
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
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan []nodeAddrs, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, io.Discard, io.Discard, func(a []nodeAddrs) { got <- a }) }()
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

	addrs, stop = startRun(t, "local", "-n", "3", "-redis-port", "0", "-http-port", "-1", "-log-level", "error")
	if len(addrs) != 3 {
		t.Fatalf("local -n 3 started %d nodes", len(addrs))
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
