//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"time"
)

// setupNet creates the network namespaces when -netns allows and the
// machine can (root, ip, nft); otherwise s.noNet says why not.
func (s *suite) setupNet(ctx context.Context) error {
	c := s.cfg
	if c.netns == "off" {
		s.noNet = "-netns off"
		return nil
	}
	if ok, why := netnsSupport(); !ok {
		if c.netns == "on" {
			return errors.New("-netns on: " + why)
		}
		s.noNet = why
		fmt.Printf("faultsuite: no network namespaces (%s): nodes on 127.0.0.1, partition and loss skipped\n", why)
		return nil
	}
	for _, r := range removeLeftovers(ctx) {
		fmt.Println("faultsuite: removed a leftover of an earlier run:", r)
	}
	lab, err := newNetLab(ctx, s.nodeCount())
	if err != nil {
		if c.netns == "on" {
			return err
		}
		s.noNet = "namespaces could not be set up: " + err.Error()
		fmt.Println("faultsuite:", s.noNet)
		return nil
	}
	s.lab = lab
	fmt.Printf("faultsuite: nodes in their own network namespaces at %s, %s, %s; the suite at %s\n",
		lab.addr(0), lab.addr(1), lab.addr(2), lab.clientAddr())
	return nil
}

// quantile of ds (sorted in place); 0 for none.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(q*float64(len(ds))))]
}

// opStats counts operations by outcome, with the latencies of the failed
// ones.
type opStats struct {
	total, errs, missing, wrong int
	errLat                      []time.Duration
}

// opsThrough counts the operations through the nodes of which that began
// in [from, to).
func (s *suite) opsThrough(from, to time.Duration, which func(node int) bool) opStats {
	return s.opsWhere(func(r rec) bool { return r.start >= from && r.start < to && which(int(r.node)) })
}

// opsWhere counts the operations for which keep holds.
func (s *suite) opsWhere(keep func(r rec) bool) opStats {
	var st opStats
	for _, r := range s.ld.records() {
		if !keep(r) {
			continue
		}
		st.total++
		switch r.out {
		case outErr:
			st.errs++
			st.errLat = append(st.errLat, r.end-r.start)
		case outMissing:
			st.missing++
		case outWrong:
			st.wrong++
		}
	}
	return st
}

// partitionFault cuts minority off from the other nodes (not from the
// client) for cfg.partition, then heals. The client keeps sending to every
// node, the minority included.
func (s *suite) partitionFault(ctx context.Context, minority *node) error {
	c := s.cfg
	fmt.Printf("\n== fault c: partition: %s cut off from the other nodes for %v (the client reaches all)\n", minority.id, c.partition)
	if !sleep(ctx, c.baseline/2) {
		return ctx.Err()
	}
	// Each worker sends to one node only while the partition lasts, so
	// the workers of the minority, stuck or failing, do not slow the
	// majority's.
	s.ld.sticky.Store(true)
	defer s.ld.sticky.Store(false)
	s.mon.setFaulted(minority.idx)
	tCut := time.Now()
	if err := s.lab.partition(ctx, minority.idx); err != nil {
		return err
	}
	s.mark("partition " + minority.id)
	majority := s.others(minority)
	// The minority's view of the majority, watched at the same time.
	mds := make([][]detection, len(majority))
	var watchers sync.WaitGroup
	for i, m := range majority {
		watchers.Go(func() { mds[i] = watchFailure(ctx, tCut, c.partition, []*node{minority}, m.id) })
	}
	ds := watchFailure(ctx, tCut, c.partition, majority, minority.id)
	watchers.Wait()
	if rest := c.partition - time.Since(tCut); rest > 0 && !sleep(ctx, rest) {
		return ctx.Err()
	}
	// The heal begins now: the rules go away namespace by namespace, and
	// an operation that ends after this may have crossed a healed link.
	tHeal := time.Now()
	if err := s.lab.heal(ctx); err != nil {
		return err
	}
	s.mark("partition healed")
	from, until := tCut.Sub(s.t0), tHeal.Sub(s.t0)

	// The minority sees the others failed when both have been failed.
	minoritySaw := time.Duration(-1)
	for i, m := range majority {
		d := mds[i][0]
		s.add(fmt.Sprintf("partition: %s (minority) sees %s suspect / failed", minority.id, m.id), durOrNever(d.suspect)+" / "+durOrNever(d.failed), "info")
		if d.failed < 0 {
			minoritySaw = -1
			break
		}
		minoritySaw = max(minoritySaw, d.failed)
	}
	for _, d := range ds {
		s.add(fmt.Sprintf("partition: %s sees %s suspect", d.observer, minority.id), durOrNever(d.suspect), "info")
		s.add(fmt.Sprintf("partition: %s sees %s failed (time to detect)", d.observer, minority.id), durOrNever(d.failed), verdict(d.failed >= 0 && d.failed <= c.detectLimit))
	}

	isMaj := func(i int) bool { return i != minority.idx }
	base := s.ratesVia(from-c.baseline/2, from, isMaj)
	during := s.ratesVia(from, until, isMaj)
	s.add("partition: majority ops/s before (mean) / during, per second", fmt.Sprintf("%.0f / %s", meanOf(base), fmtRates(during)), "info")
	slowest := 0.0
	if len(during) > 0 {
		slowest = slices.Min(during)
	}
	s.add("partition: majority serves in every second of the partition", fmt.Sprintf("slowest second %.0f ops", slowest), verdict(len(during) > 0 && slowest > 0))
	// Majority: everything succeeds.
	maj := s.opsThrough(from, until, func(i int) bool { return i != minority.idx })
	s.add("partition: majority: failed operations", fmt.Sprintf("%d of %d", maj.errs, maj.total), verdict(maj.errs == 0))
	if maj.errs > 0 {
		s.noteFailures("partition, majority", "", func(r rec) bool { return r.start >= from && r.start < until && isMaj(int(r.node)) })
	}
	s.add("partition: majority: GETs that read nil / a wrong value", fmt.Sprintf("%d / %d", maj.missing, maj.wrong), verdict(maj.missing == 0 && maj.wrong == 0))
	// Minority: fails, fast, never answers wrong.
	mino := s.opsThrough(from, until, func(i int) bool { return i == minority.idx })
	s.add("partition: minority: failed operations (expected: all)", fmt.Sprintf("%d of %d", mino.errs, mino.total), "info")
	s.add("partition: minority: GETs that read nil / a wrong value", fmt.Sprintf("%d / %d", mino.missing, mino.wrong), verdict(mino.missing == 0 && mino.wrong == 0))
	lat := slices.Clone(mino.errLat)
	s.add("partition: minority: failed op latency p50 / p99 / max", fmt.Sprintf("%v / %v / %v",
		quantile(lat, 0.5).Round(time.Millisecond), quantile(lat, 0.99).Round(time.Millisecond), quantile(lat, 1).Round(time.Millisecond)),
		verdict(len(lat) > 0 && quantile(lat, 0.99) < c.opTimeout))
	s.slowFailures("partition", from, until)
	hung := 0
	for _, d := range mino.errLat {
		if d >= c.opTimeout*9/10 {
			hung++
		}
	}
	s.add("partition: minority: failed ops that ran to the deadline (≥ 90% of -op-timeout)", fmt.Sprint(hung), "info")
	if minoritySaw >= 0 {
		// Operations that began once the minority saw the others failed
		// and ended before the heal began.
		after := s.opsWhere(func(r rec) bool {
			return int(r.node) == minority.idx && r.start >= from+minoritySaw && r.end < until
		})
		s.add(fmt.Sprintf("partition: minority, once it sees the others failed (%s): fail p99 < 1 s", secs(minoritySaw)),
			fmt.Sprintf("p99 %v of %d failed", quantile(after.errLat, 0.99).Round(time.Millisecond), after.errs),
			verdict(after.errs > 0 && quantile(after.errLat, 0.99) < time.Second))
		succeeded := after.total - after.errs - after.missing - after.wrong
		s.add("partition: minority, once it sees the others failed: operations that succeeded", fmt.Sprint(succeeded), verdict(succeeded == 0))
	} else {
		s.add("partition: minority sees the others failed", "never", "FAIL")
	}

	// Healing.
	_, ok := waitAllAlive(ctx, c.detectLimit, s.nodes, nil)
	dAlive := time.Since(tHeal)
	s.add("heal: every node sees every node alive (since heal)", secs(dAlive), verdict(ok))
	s.mon.forget()
	s.mon.setFaulted(-1)
	if !ok {
		return ctxErr(ctx, errors.New("partition did not heal"))
	}
	s.waitConverged(ctx, "heal", tHeal, c.convergeLimit, s.ld.snapshot(), 3)
	s.mark("converged after partition")
	s.readBack(ctx, "partition", s.ld.snapshot())
	return ctxErr(ctx, nil)
}

// lossFault drops cfg.lossPct% of the packets between nodes for
// cfg.partition.
func (s *suite) lossFault(ctx context.Context) error {
	c := s.cfg
	fmt.Printf("\n== fault d: %d%% random packet loss between all nodes for %v (nft numgen random)\n", c.lossPct, c.partition)
	if !sleep(ctx, c.baseline/2) {
		return ctx.Err()
	}
	_, before, _ := s.mon.results()
	tOn := time.Now()
	if err := s.lab.loss(ctx, c.lossPct); err != nil {
		return err
	}
	s.mark(fmt.Sprintf("%d%% loss on", c.lossPct))
	if !sleep(ctx, c.partition) {
		return ctx.Err()
	}
	tOff := time.Now()
	if err := s.lab.heal(ctx); err != nil {
		return err
	}
	s.mark("loss off")
	from, until := tOn.Sub(s.t0), tOff.Sub(s.t0)
	st := s.opsThrough(from, until, func(int) bool { return true })
	s.add("loss: failed operations", fmt.Sprintf("%d of %d", st.errs, st.total), verdict(st.errs == 0))
	if st.errs > 0 {
		s.noteFailures("loss", "", func(r rec) bool { return r.start >= from && r.start < until })
	}
	s.add("loss: GETs that read nil / a wrong value", fmt.Sprintf("%d / %d", st.missing, st.wrong), verdict(st.missing == 0 && st.wrong == 0))
	lat := slices.Clone(st.errLat)
	if len(lat) > 0 {
		s.add("loss: failed op latency p50 / max", fmt.Sprintf("%v / %v", quantile(lat, 0.5).Round(time.Millisecond), quantile(lat, 1).Round(time.Millisecond)), "info")
	}
	base, during := s.rates(from-c.baseline/2, from), s.rates(from, until)
	s.slowFailures("loss", from, until)
	s.add("loss: ops/s before / during (mean)", fmt.Sprintf("%.0f / %.0f", meanOf(base), meanOf(during)), "info")
	suspects, failures, _ := s.mon.results()
	sus := 0
	for _, f := range suspects {
		if f.at >= from && f.at < until+time.Second {
			sus++
		}
	}
	s.add("loss: false suspicions during the loss", fmt.Sprint(sus), "info")
	s.add("loss: false deaths during the loss", fmt.Sprint(len(failures)-len(before)), verdict(len(failures) == len(before)))
	s.waitConverged(ctx, "loss off", tOff, c.convergeLimit, s.ld.snapshot(), 3)
	s.readBack(ctx, "loss", s.ld.snapshot())
	return ctxErr(ctx, nil)
}

var addrRe = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+:\d+`)

// slowFailures adds a row with the failed operations that began in
// [from, to) and took more than a second, and notes them grouped by node
// and error.
func (s *suite) slowFailures(phase string, from, to time.Duration) {
	n := s.noteFailures(phase, "took > 1 s", func(r rec) bool {
		return r.start >= from && r.start < to && r.end-r.start > time.Second
	})
	s.add(phase+": failed operations that took > 1 s", fmt.Sprint(n), "info")
}

// noteFailures notes the failed operations for which keep holds, grouped
// by node and error (addresses masked), and returns how many there were.
func (s *suite) noteFailures(phase, what string, keep func(r rec) bool) int {
	s.ld.errMu.Lock()
	defer s.ld.errMu.Unlock()
	type group struct {
		node         int8
		err          string
		n            int
		first, worst time.Duration
	}
	var gs []*group
	total := 0
	for _, e := range s.ld.errs {
		if !keep(e.r) {
			continue
		}
		total++
		msg := addrRe.ReplaceAllString(e.err, "ADDR")
		if len(msg) > 160 {
			msg = msg[:160] + "..."
		}
		var g *group
		for _, x := range gs {
			if x.node == e.r.node && x.err == msg {
				g = x
			}
		}
		if g == nil {
			g = &group{node: e.r.node, err: msg, first: e.r.start}
			gs = append(gs, g)
		}
		g.n++
		g.worst = max(g.worst, e.r.end-e.r.start)
	}
	for _, g := range gs {
		s.note(fmt.Sprintf("%s: %d failed ops via node%d %s (first began at %.2fs, slowest %s): %s", phase, g.n, g.node+1, what, g.first.Seconds(), secs(g.worst), g.err))
	}
	return total
}
