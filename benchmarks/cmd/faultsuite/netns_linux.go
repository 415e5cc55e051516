//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A netLab puts every node in its own network namespace, gkfs-<pid>-<i>,
// linked by a veth pair (gkfs<pid>h<i> on the host side, gkfs<pid>n<i>
// inside) to a bridge gkfs<pid>b in the root namespace that holds
// 10.213.X.1/24, the suite's (the client's) address; node i is
// 10.213.X.(10+i). Faults are nftables rules in the namespaces' own table
// "inet gkfs" (chain input), so they touch only traffic between nodes:
// the client, on the bridge address, always reaches every node.
//
// Everything is named after the suite's pid, so a run never touches
// another's, and a later run removes what a crashed one left behind (the
// names whose pid is no longer a faultsuite process).
type netLab struct {
	pid    int
	subnet int // X of 10.213.X.0/24
	bridge string
	ns     []string
	hosts  []string // host-side veth names

	mu        sync.Mutex
	destroyed bool
}

const labPrefix = "gkfs"

// labs tracks the labs to tear down on every exit path.
var labs struct {
	sync.Mutex
	l []*netLab
}

// destroyLabs removes every namespace, veth and bridge the suite created
// (the nft tables live in the namespaces and go with them). Safe to call
// more than once, from any goroutine; call it after killAll.
func destroyLabs() {
	labs.Lock()
	defer labs.Unlock()
	for _, l := range labs.l {
		l.destroy()
	}
}

// netnsSupport says whether partitions and loss can run here, and if not
// why.
func netnsSupport() (bool, string) {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "not root")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool+" not found")
		}
	}
	if len(missing) > 0 {
		return false, strings.Join(missing, ", ")
	}
	return true, ""
}

// run runs a command and returns its error with its output.
func run(ctx context.Context, stdin string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

func output(name string, args ...string) string {
	out, _ := exec.Command(name, args...).Output()
	return string(out)
}

// ours reports whether pid is a running faultsuite process.
func ours(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return err == nil && strings.Contains(string(comm), "faultsuite")
}

var (
	nsRe   = regexp.MustCompile(`^` + labPrefix + `-(\d+)-\d+$`)
	linkRe = regexp.MustCompile(`^` + labPrefix + `(\d+)[bhn]\d*$`)
)

// leftovers lists the namespaces and links named like ours.
func leftovers() (nss, links []string) {
	for _, line := range strings.Split(output("ip", "netns", "list"), "\n") {
		if f := strings.Fields(line); len(f) > 0 && nsRe.MatchString(f[0]) {
			nss = append(nss, f[0])
		}
	}
	for _, line := range strings.Split(output("ip", "-o", "link", "show"), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		if linkRe.MatchString(name) {
			links = append(links, name)
		}
	}
	return nss, links
}

// removeLeftovers deletes what an earlier run that no longer exists left
// behind, and reports what it removed.
func removeLeftovers(ctx context.Context) []string {
	var removed []string
	nss, links := leftovers()
	for _, ns := range nss {
		pid, _ := strconv.Atoi(nsRe.FindStringSubmatch(ns)[1])
		if pid == os.Getpid() || ours(pid) {
			continue
		}
		if run(ctx, "", "ip", "netns", "del", ns) == nil {
			removed = append(removed, "netns "+ns)
		}
	}
	for _, l := range links {
		pid, _ := strconv.Atoi(linkRe.FindStringSubmatch(l)[1])
		if pid == os.Getpid() || ours(pid) {
			continue
		}
		if run(ctx, "", "ip", "link", "del", l) == nil {
			removed = append(removed, "link "+l)
		}
	}
	return removed
}

// pickSubnet chooses X of 10.213.X.0/24 that no address or route of the
// root namespace uses.
func pickSubnet(pid int) (int, error) {
	used := output("ip", "-o", "-4", "addr", "show") + output("ip", "-4", "route", "show", "table", "all")
	for i := range 200 {
		x := 20 + (pid+i)%200
		if !strings.Contains(used, fmt.Sprintf("10.213.%d.", x)) {
			return x, nil
		}
	}
	return 0, errors.New("no free 10.213.X.0/24")
}

// newNetLab creates the namespaces, veths and bridge for n nodes and the
// empty nft table of each namespace, and checks that the suite reaches
// every namespace address.
func newNetLab(ctx context.Context, n int) (*netLab, error) {
	pid := os.Getpid()
	x, err := pickSubnet(pid)
	if err != nil {
		return nil, err
	}
	l := &netLab{pid: pid, subnet: x, bridge: fmt.Sprintf("%s%db", labPrefix, pid)}
	labs.Lock()
	labs.l = append(labs.l, l)
	labs.Unlock()
	fail := func(err error) (*netLab, error) {
		l.destroy()
		return nil, err
	}
	steps := [][]string{
		{"link", "add", l.bridge, "type", "bridge"},
		{"addr", "add", fmt.Sprintf("10.213.%d.1/24", x), "dev", l.bridge},
		{"link", "set", l.bridge, "up"},
	}
	for i := range n {
		ns := fmt.Sprintf("%s-%d-%d", labPrefix, pid, i)
		host, peer := fmt.Sprintf("%s%dh%d", labPrefix, pid, i), fmt.Sprintf("%s%dn%d", labPrefix, pid, i)
		l.ns = append(l.ns, ns)
		l.hosts = append(l.hosts, host)
		steps = append(steps,
			[]string{"netns", "add", ns},
			[]string{"link", "add", host, "type", "veth", "peer", "name", peer},
			[]string{"link", "set", host, "master", l.bridge, "up"},
			[]string{"link", "set", peer, "netns", ns},
			[]string{"-n", ns, "addr", "add", l.addr(i) + "/24", "dev", peer},
			[]string{"-n", ns, "link", "set", peer, "up"},
			[]string{"-n", ns, "link", "set", "lo", "up"},
		)
	}
	for _, st := range steps {
		if err := run(ctx, "", "ip", st...); err != nil {
			return fail(err)
		}
	}
	for i := range n {
		if err := l.nft(ctx, i, "add table inet gkfs\nadd chain inet gkfs input { type filter hook input priority 0; policy accept; }\n"); err != nil {
			return fail(err)
		}
	}
	return l, nil
}

// addr is node i's address.
func (l *netLab) addr(i int) string { return fmt.Sprintf("10.213.%d.%d", l.subnet, 10+i) }

// clientAddr is the suite's own address on the bridge.
func (l *netLab) clientAddr() string { return fmt.Sprintf("10.213.%d.1", l.subnet) }

// command prefixes a node's command line to run it in namespace i.
func (l *netLab) command(i int, args []string) []string {
	return append([]string{"ip", "netns", "exec", l.ns[i]}, args...)
}

func (l *netLab) nft(ctx context.Context, i int, script string) error {
	return run(ctx, script, "ip", "netns", "exec", l.ns[i], "nft", "-f", "-")
}

// others is the set of the other nodes' addresses, as an nft set literal.
func (l *netLab) others(i int, among []int) string {
	var a []string
	for _, j := range among {
		if j != i {
			a = append(a, l.addr(j))
		}
	}
	return "{ " + strings.Join(a, ", ") + " }"
}

func all(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// partition cuts node minority off from every other node in both
// directions, every protocol (gossip UDP, its TCP fallback, QUIC): each
// side drops on input what comes from the other, so both see silence.
// The client (bridge address) still reaches every node.
func (l *netLab) partition(ctx context.Context, minority int) error {
	var rest []int
	for i := range l.ns {
		if i != minority {
			rest = append(rest, i)
		}
	}
	if err := l.nft(ctx, minority, fmt.Sprintf("add rule inet gkfs input ip saddr %s drop\n", l.others(minority, rest))); err != nil {
		return err
	}
	for _, i := range rest {
		if err := l.nft(ctx, i, fmt.Sprintf("add rule inet gkfs input ip saddr %s drop\n", l.addr(minority))); err != nil {
			return err
		}
	}
	return nil
}

// loss drops pct% of the packets between nodes at random (on input, in
// every namespace: each packet from one node to another crosses exactly
// one such rule). The client's traffic is not touched.
func (l *netLab) loss(ctx context.Context, pct int) error {
	for i := range l.ns {
		rule := fmt.Sprintf("add rule inet gkfs input ip saddr %s numgen random mod 100 < %d drop\n", l.others(i, all(len(l.ns))), pct)
		if err := l.nft(ctx, i, rule); err != nil {
			return err
		}
	}
	return nil
}

// heal removes every fault rule.
func (l *netLab) heal(ctx context.Context) error {
	var errs []error
	for i := range l.ns {
		errs = append(errs, l.nft(ctx, i, "flush chain inet gkfs input\n"))
	}
	return errors.Join(errs...)
}

// destroy deletes the nft tables, namespaces, veths and the bridge.
// Deleting a namespace deletes its end of the veth pair and so the pair;
// the host ends and the bridge are deleted explicitly in case a step
// failed half-way. It runs without the suite's context, which may be
// done already.
func (l *netLab) destroy() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.destroyed {
		return
	}
	l.destroyed = true
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, ns := range l.ns {
		_ = run(ctx, "", "ip", "netns", "exec", ns, "nft", "delete", "table", "inet", "gkfs")
		_ = run(ctx, "", "ip", "netns", "del", ns)
	}
	for _, h := range l.hosts {
		_ = run(ctx, "", "ip", "link", "del", h)
	}
	_ = run(ctx, "", "ip", "link", "del", l.bridge)
}

// mine lists what of this process is still present (after destroy: must
// be nothing).
func (l *netLab) mine() []string {
	var out []string
	nss, links := leftovers()
	for _, ns := range nss {
		if strings.HasPrefix(ns, fmt.Sprintf("%s-%d-", labPrefix, l.pid)) {
			out = append(out, "netns "+ns)
		}
	}
	for _, k := range links {
		if strings.HasPrefix(k, fmt.Sprintf("%s%d", labPrefix, l.pid)) {
			out = append(out, "link "+k)
		}
	}
	return out
}
