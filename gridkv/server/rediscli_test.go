package server_test

import (
	"context"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridkv/gridkv/gridkv/internal/testcluster"
	"github.com/gridkv/gridkv/gridkv/server"
)

// redisTool returns the path of a redis-tools program, or skips the test.
func redisTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (apt-get install redis-tools)", name)
	}
	return p
}

// runTool runs a program with stdin and returns its standard output.
func runTool(t *testing.T, stdin, prog string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %q: %v\nstdout: %s\nstderr: %s", prog, args, err, out, stderr.String())
	}
	return string(out)
}

// TestRedisCLI drives a node with redis-cli: commands as arguments, from
// standard input, SCAN through --scan, and --pipe (raw RESP, ended by
// redis-cli's ECHO marker).
func TestRedisCLI(t *testing.T) {
	cli := redisTool(t, "redis-cli")
	nodes := serveRedis(t, testcluster.Start(t, 3, nil), server.Config{})
	port := func(i int) string { return nodes[i].addr[strings.LastIndexByte(nodes[i].addr, ':')+1:] }
	run := func(i int, stdin string, args ...string) string {
		t.Helper()
		return runTool(t, stdin, cli, append([]string{"-h", "127.0.0.1", "-p", port(i)}, args...)...)
	}
	for _, tc := range []struct {
		node int
		args []string
		want string // "*" suffix: prefix match
	}{
		{0, []string{"PING"}, "PONG\n"},
		{1, []string{"ECHO", "hi there"}, "hi there\n"},
		{0, []string{"SET", "cli:a", "value-of-a", "EX", "100"}, "OK\n"},
		{2, []string{"GET", "cli:a"}, "value-of-a\n"},
		{1, []string{"TTL", "cli:a"}, "*"}, // checked below
		{0, []string{"MSET", "cli:b", "2", "cli:c", "3"}, "OK\n"},
		{2, []string{"MGET", "cli:b", "cli:c", "cli:none"}, "2\n3\n\n"},
		{1, []string{"SET", "cli:b", "x", "NX"}, "\n"},
		{1, []string{"SET", "cli:b", "two", "XX", "GET"}, "2\n"},
		{0, []string{"EXISTS", "cli:a", "cli:b", "cli:none"}, "2\n"},
		{2, []string{"DEL", "cli:c"}, "1\n"},
		{0, []string{"GET", "cli:c"}, "\n"},
		{1, []string{"NOSUCH"}, "ERR unknown command 'NOSUCH'*"},
		{1, []string{"GET"}, "ERR wrong number of arguments for 'get' command*"},
		{0, []string{"INFO"}, "# Server*"},
		{0, []string{"DBSIZE"}, "2\n"},
	} {
		got := run(tc.node, "", tc.args...)
		if p, ok := strings.CutSuffix(tc.want, "*"); ok {
			if !strings.HasPrefix(got, p) {
				t.Errorf("redis-cli %q = %q, want prefix %q", tc.args, got, p)
			}
		} else if got != tc.want {
			t.Errorf("redis-cli %q = %q, want %q", tc.args, got, tc.want)
		}
	}
	if got := run(1, "", "TTL", "cli:a"); got != "100\n" && got != "99\n" {
		t.Errorf("TTL after EX 100 = %q", got)
	}
	if got := run(2, "SET cli:stdin one\nGET cli:stdin\nPING\n"); got != "OK\none\nPONG\n" {
		t.Errorf("commands from standard input: %q", got)
	}
	var keys []string
	for k := range strings.Lines(run(0, "", "--scan", "--pattern", "cli:*")) {
		keys = append(keys, strings.TrimSpace(k))
	}
	if strings.Join(slices.Sorted(slices.Values(keys)), " ") != "cli:a cli:b cli:stdin" {
		t.Errorf("--scan --pattern cli:* = %q", keys)
	}
	var pipe strings.Builder
	for i := range 500 {
		k := "cli:pipe:" + strconv.Itoa(i)
		pipe.WriteString(respCommand("SET", k, valueOf(k)))
	}
	out := run(1, pipe.String(), "--pipe")
	if !strings.Contains(out, "errors: 0, replies: 500") {
		t.Errorf("--pipe of 500 SETs: %q", out)
	}
	if got := run(2, "", "GET", "cli:pipe:499"); got != valueOf("cli:pipe:499")+"\n" {
		t.Errorf("GET after --pipe = %q", got)
	}
}

// TestRedisBenchmark runs redis-benchmark against a 3-node cluster,
// without and with pipelining: every request must succeed.
func TestRedisBenchmark(t *testing.T) {
	bench := redisTool(t, "redis-benchmark")
	nodes := serveRedis(t, testcluster.Start(t, 3, nil), server.Config{})
	port := nodes[1].addr[strings.LastIndexByte(nodes[1].addr, ':')+1:]
	for _, p := range []string{"1", "16"} {
		out := runTool(t, "", bench, "-h", "127.0.0.1", "-p", port, "-t", "set,get", "-n", "2000", "-c", "8", "-P", p, "-r", "1000", "-q", "--csv")
		for _, test := range []string{`"SET"`, `"GET"`} {
			if !strings.Contains(out, test+",") {
				t.Errorf("redis-benchmark -P %s: no %s result in %q", p, test, out)
			}
		}
	}
}

func respCommand(args ...string) string {
	var b strings.Builder
	b.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b.WriteString("$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n")
	}
	return b.String()
}
