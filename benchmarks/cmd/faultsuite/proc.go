//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// node is one gridkv serve process; its flags never change, so a restart
// brings it back under the same id on the same ports.
type node struct {
	idx                       int
	id                        string
	gossip, redis, http, logf string
	transport                 string
	args                      []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	boots  int
}

// procs tracks every child so that each exit path can kill them all.
var procs struct {
	sync.Mutex
	nodes []*node
}

// killAll kills the process group of every child still running (a stopped
// process dies on SIGKILL too). Safe to call more than once, from any
// goroutine.
func killAll() {
	procs.Lock()
	defer procs.Unlock()
	for _, n := range procs.nodes {
		n.kill()
	}
}

// cleanup kills every node, then removes the network namespaces, veths,
// bridge and nft tables of the suite. Safe to call more than once, from any
// goroutine.
func cleanup() {
	killAll()
	destroyLabs()
}

// freePorts reserves n distinct loopback ports that are free for TCP and
// UDP (gossip uses both), then releases them for the nodes.
func freePorts(n int) ([]int, error) {
	var ports []int
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		p := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			l.Close()
			continue
		}
		closers = append(closers, func() { l.Close(); u.Close() })
		ports = append(ports, p)
	}
	return ports, nil
}

// newNodes describes count nodes: on 127.0.0.1 with free ports, or, with
// a lab, node i in namespace i on its own address with fixed ports.
func newNodes(bin, dir string, count int, lab *netLab) ([]*node, error) {
	nodes := make([]*node, count)
	var ports []int
	if lab == nil {
		var err error
		if ports, err = freePorts(4 * count); err != nil {
			return nil, err
		}
	}
	for i := range nodes {
		n := &node{idx: i, id: fmt.Sprintf("node%d", i+1), logf: filepath.Join(dir, fmt.Sprintf("node%d.log", i+1))}
		if lab == nil {
			n.gossip = fmt.Sprintf("127.0.0.1:%d", ports[4*i])
			n.redis = fmt.Sprintf("127.0.0.1:%d", ports[4*i+1])
			n.http = fmt.Sprintf("127.0.0.1:%d", ports[4*i+2])
			n.transport = fmt.Sprintf("127.0.0.1:%d", ports[4*i+3])
		} else {
			a := lab.addr(i)
			n.gossip, n.redis, n.http, n.transport = a+":7946", a+":6380", a+":8080", a+":7947"
		}
		nodes[i] = n
	}
	for i, n := range nodes {
		var seeds []string // the first 3 nodes: the cluster a 4th joins
		for j, o := range nodes[:min(3, count)] {
			if j != i {
				seeds = append(seeds, o.gossip)
			}
		}
		n.args = []string{bin, "serve",
			"-id", n.id, "-bind", n.gossip, "-transport", n.transport, "-redis", n.redis, "-http", n.http,
			"-seeds", strings.Join(seeds, ","),
			"-replicas", "3", "-write-quorum", "2", "-read-quorum", "2",
			"-consistency", "quorum", "-log-level", "info"}
		if lab != nil {
			// Private namespaces on a private bridge: the development
			// certificate is acceptable there, and the client (on the
			// bridge) is not on loopback.
			n.args = append(n.args, "-insecure", "-protected-mode=false")
			n.args = lab.command(i, n.args)
		}
	}
	procs.Lock()
	procs.nodes = append(procs.nodes, nodes...)
	procs.Unlock()
	return nodes, nil
}

// start starts the process (again, after a kill) with the same flags.
func (n *node) start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		return fmt.Errorf("%s already running", n.id)
	}
	f, err := os.OpenFile(n.logf, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	n.boots++
	fmt.Fprintf(f, "=== faultsuite: start #%d at %s: %s\n", n.boots, time.Now().UTC().Format(time.RFC3339Nano), strings.Join(n.args, " "))
	cmd := exec.Command(n.args[0], n.args[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	// Each node leads its own process group (so killing the group takes
	// anything it started) and dies with the suite on Linux even if the
	// suite itself is killed with SIGKILL.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setPdeathsig(cmd.SysProcAttr)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=2")
	if err := cmd.Start(); err != nil {
		f.Close()
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); f.Close(); close(exited) }()
	n.cmd, n.exited = cmd, exited
	return nil
}

// kill sends SIGKILL to the node's process group and waits for the exit.
func (n *node) kill() {
	n.mu.Lock()
	cmd, exited := n.cmd, n.exited
	n.cmd = nil
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
	}
}

// stop sends SIGTERM and waits up to wait for the process to exit; it
// returns the exit code (-1 if it did not exit, and it is then killed).
func (n *node) stop(wait time.Duration) int {
	n.mu.Lock()
	cmd, exited := n.cmd, n.exited
	n.mu.Unlock()
	if cmd == nil {
		return -1
	}
	_ = syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-exited:
		n.mu.Lock()
		n.cmd = nil
		n.mu.Unlock()
		return cmd.ProcessState.ExitCode()
	case <-time.After(wait):
		n.kill()
		return -1
	}
}

// signal sends sig to the node's process (SIGSTOP, SIGCONT).
func (n *node) signal(sig syscall.Signal) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return errors.New(n.id + " is not running")
	}
	return syscall.Kill(-n.cmd.Process.Pid, sig)
}

// running reports whether the process is alive (it has not exited).
func (n *node) running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// repoRoot finds the repository root: the parent of the benchmarks module
// (go env GOMOD from the current directory), or the first parent of the
// current directory holding gridkv/cmd/gridkv.
func repoRoot(ctx context.Context) (string, error) {
	ok := func(d string) bool {
		st, err := os.Stat(filepath.Join(d, "gridkv", "cmd", "gridkv"))
		return err == nil && st.IsDir()
	}
	if out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output(); err == nil {
		if mod := strings.TrimSpace(string(out)); mod != "" && mod != os.DevNull {
			if d := filepath.Dir(filepath.Dir(mod)); ok(d) {
				return d, nil
			}
		}
	}
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if ok(d) {
			return d, nil
		}
		p := filepath.Dir(d)
		if p == d {
			return "", errors.New("repository root (with gridkv/cmd/gridkv) not found above the current directory; use -root")
		}
		d = p
	}
}

// buildGridKV builds the server into dir (from the gridkv module, which
// works with and without the go.work of the root).
func buildGridKV(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "gridkv")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/gridkv")
	cmd.Dir = filepath.Join(root, "gridkv")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setPdeathsig(cmd.SysProcAttr)
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./gridkv/cmd/gridkv: %v\n%s", err, out)
	}
	return bin, nil
}
