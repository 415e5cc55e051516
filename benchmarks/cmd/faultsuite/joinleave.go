//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// nodeCount is the number of node processes: a 4th for the join.
func (s *suite) nodeCount() int {
	if s.cfg.faults["join"] {
		return 4
	}
	return 3
}

// setMembers changes the nodes of the cluster (load, monitor, census,
// read-back follow).
func (s *suite) setMembers(nodes []*node) {
	s.nodes = slices.Clone(nodes)
	s.mon.setNodes(s.nodes)
}

// joinLeave starts joiner under load and waits until every key is on
// exactly N=3 of the 4 nodes, then stops leaver with SIGTERM (a graceful
// leave) and waits until every key is on exactly the 3 that remain. The
// client sends to the joiner as soon as it is seen alive, and stops sending
// to the leaver just before it leaves (as a client draining a node would).
func (s *suite) joinLeave(ctx context.Context, joiner, leaver *node) error {
	c := s.cfg
	fmt.Printf("\n== fault e: %s joins under load, then %s leaves (SIGTERM)\n", joiner.id, leaver.id)
	if !sleep(ctx, c.baseline/2) {
		return ctx.Err()
	}
	tJoin := time.Now()
	if err := joiner.start(); err != nil {
		return err
	}
	s.mark("start " + joiner.id + " (join)")
	four := append(slices.Clone(s.nodes), joiner)
	_, ok := waitAllAlive(ctx, c.detectLimit, four, nil)
	s.add("join: every node sees "+joiner.id+" alive", secs(time.Since(tJoin)), verdict(ok))
	if !ok {
		return ctxErr(ctx, errors.New("joining node not seen alive"))
	}
	s.setMembers(four)
	s.ld.include(joiner.idx)
	recv := s.watchReceiving(ctx, "join", tJoin, four)
	s.waitConverged(ctx, "join", tJoin, c.refillLimit, s.ld.snapshot(), 3)
	recv()
	s.mark("rebalanced after join")
	s.opsRows("join", tJoin.Sub(s.t0), time.Since(s.t0))
	s.readBack(ctx, "join", s.ld.snapshot())

	// Leave.
	if !sleep(ctx, c.baseline/2) {
		return ctx.Err()
	}
	s.ld.exclude(leaver.idx, c.opTimeout)
	s.mon.setFaulted(leaver.idx)
	tLeave := time.Now()
	code := leaver.stop(30 * time.Second)
	s.mark("SIGTERM " + leaver.id + " (leave)")
	s.add("leave: "+leaver.id+" exits after SIGTERM (exit code)", fmt.Sprintf("%d after %s", code, secs(time.Since(tLeave))), verdict(code == 0))
	var rest []*node
	for _, n := range s.nodes {
		if n != leaver {
			rest = append(rest, n)
		}
	}
	for _, d := range watchFailure(ctx, tLeave, c.detectLimit, rest, leaver.id) {
		s.add(fmt.Sprintf("leave: %s sees %s left or failed", d.observer, leaver.id), durOrNever(d.failed), verdict(d.failed >= 0))
	}
	s.setMembers(rest)
	s.mon.setFaulted(-1)
	recv = s.watchReceiving(ctx, "leave", tLeave, rest)
	s.waitConverged(ctx, "leave", tLeave, c.refillLimit, s.ld.snapshot(), 3)
	recv()
	s.mark("rebalanced after leave")
	s.opsRows("leave", tLeave.Sub(s.t0), time.Since(s.t0))
	s.readBack(ctx, "leave", s.ld.snapshot())
	return ctxErr(ctx, nil)
}

// watchReceiving polls, in the background until ctx ends, the ranges each
// node still receives, and returns a function that adds a row with when
// each node last had some (since start) and the most it had.
func (s *suite) watchReceiving(ctx context.Context, phase string, start time.Time, nodes []*node) func() {
	type seen struct {
		last time.Duration
		most int
	}
	res := make([]seen, len(nodes))
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			for i, n := range nodes {
				if v, err := view(ctx, n); err == nil && v.Node.RangesReceiving > 0 {
					res[i].last = time.Since(start)
					res[i].most = max(res[i].most, v.Node.RangesReceiving)
				}
			}
			sleep(ctx, 200*time.Millisecond)
		}
	}()
	return func() {
		cancel()
		<-done
		for i, n := range nodes {
			s.add(fmt.Sprintf("%s: %s receiving ranges: most / last seen", phase, n.id), fmt.Sprintf("%d / %s", res[i].most, secs(res[i].last)), "info")
		}
	}
}
