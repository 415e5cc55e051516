// Package swim is GridKV's membership and failure detection: a thin,
// safe layer over github.com/hashicorp/memberlist (SWIM with Lifeguard)
// for a replicated cache. It does not implement SWIM itself.
//
// A Node joins a cluster through seed addresses, publishes metadata (the
// data transport address, zone, a boot id that changes on every start, a
// protocol version and a small opaque field), detects failures, and hands
// the application ordered events and consistent snapshots of the
// membership, with a smoothed round-trip time to every peer.
//
// # Guarantees
//
//   - Events are delivered in the order the local member saw the changes,
//     numbered by Seq without gaps. memberlist's goroutines never block on
//     a slow consumer: events wait in a bounded queue (Config.EventQueueSize).
//     On overflow the queue is replaced by one EventResync, never dropped
//     silently: take a Snapshot, whose Seq covers every discarded event,
//     and ignore later events with Seq <= Snapshot.Seq.
//   - A member restarting with the same NodeID gets a new Meta.BootID and
//     is reported to every other member as EventRestart (its memory is
//     gone), both for a quick restart, which memberlist shows only as an
//     update, and after it was declared failed: 30 ms after it started
//     again on the same address (TestSimRestart). On a new address (a
//     rescheduled pod) memberlist first has to declare the old address dead
//     and wait DeadNodeReclaimTime; the restarted member announces itself
//     every 500 ms meanwhile, so it is reported after about 2 s with
//     PresetFast (TestSimRestartNewAddress). A member back with the same
//     BootID (a healed partition, a refuted false failure) is EventJoin.
//   - Close leaves gracefully: others see EventLeave at once, not
//     EventFailed. It publishes a leave intent in the metadata first,
//     because memberlist reports a leave and a death the same way.
//   - Partitions heal by themselves: memberlist forgets dead members after
//     GossipToTheDeadTime, and two halves split for longer never talk
//     again. A background loop re-joins, every RejoinInterval (5 s,
//     jittered), up to RejoinFanout addresses among the seeds (resolved
//     again each time) and the remembered addresses of failed members
//     (at most MaxRemembered, for ForgetFailedAfter). After a 60 s
//     partition of 10 members heals, they were one cluster again within
//     0.04–0.52 s in our runs; TestSimPartitionHeals asserts 15 s
//     (without the loop they stay split,
//     TestSimPartitionWithoutRejoinStaysSplit). Nodes may start in
//     any order: until the first join succeeds the seeds are retried every
//     JoinRetryInterval.
//   - Metadata is a versioned binary encoding (at most 462 bytes, within
//     memberlist's 512) whose decoder rejects unknown versions and flags,
//     truncation, oversize fields, invalid UTF-8 and trailing bytes. A
//     member whose metadata does not decode is listed with Member.MetaErr.
//   - No globals: any number of members live in one process.
//
// # Presets
//
// Median time from a crash until every survivor reported EventFailed, 5
// members, simulated time, as measured (TestSimDetectionFast: 10 runs,
// asserts < 1 s for the default; TestSimDetectionPresets: 5 runs, reports
// the others; the range is over repeated test runs):
//
//	PresetFast (default)  0.75–0.80 s  probe 100 ms, timeout 50 ms, suspicion ×6, gossip 20 ms
//	PresetLocal           4.4–5.0 s    memberlist.DefaultLocalConfig
//	PresetLAN             5.6–6.4 s    memberlist.DefaultLANConfig
//	PresetWAN             38.5–40 s    memberlist.DefaultWANConfig
//
// With real UDP/TCP sockets on 127.0.0.1 under -race on a loaded 2-core
// machine, PresetFast detected a crash in 0.79–0.88 s (TestRealSockets).
// With PresetFast, 60 s of 10% packet loss (which also makes 10% of TCP
// dials time out) yield no false failure (TestSimLossNoFalseFailure).
// Traffic with PresetFast is about 0.87 KB/s per member for 5 and 20
// members and 1.07 KB/s for 100 (TestSimGossipTraffic, SWIM_LONG=1).
//
// # Slow members
//
// A member that answers late (a long GC pause, an overloaded host) is only
// told that it is suspected, and refutes, after its delay; memberlist
// alone therefore declares it dead whenever the delay exceeds the
// suspicion timeout, which a sub-second detector must keep short (with
// PresetFast, a member 1 s late is declared dead by memberlist many times
// a minute). Such a member still sends, while a crashed, hung or
// partitioned one does not. So a Node records when it last received a
// packet from each address, and when memberlist declares dead a member
// heard from within the last three probe intervals, EventFailed is held
// back (the member shows as StateSuspect) until the member refutes (then
// nothing is reported), falls silent, or Config.FailureHold (5 s) passes.
// While a failure is held and the member is still heard, the Node also
// pushes/pulls state with it once (and once more after each local stall,
// below), so a member that missed the gossip about its death learns of
// it and refutes (TestHoldSyncsWithHeldMember).
// With it, a member 1 s or 2 s late is never reported failed in 60 s
// (TestSimSlowMember; 0 of 10 seeded runs each), while crash detection is
// unchanged. A member that sends but cannot receive (a one-way partition)
// is reported after FailureHold (TestSimDeafMember: 5.9 s).
//
// # Local stalls
//
// When the whole host stalls (every process descheduled for seconds on a
// noisy machine), nobody hears anybody meanwhile, and memberlist's timers
// that expired during the stall fire as soon as it runs again, before the
// peers' packets, late as well, are processed: memberlist declares healthy
// members dead, and their last packet is as old as the stall, so the hold
// above would not apply. So a Node also notices its own stalls: a
// goroutine ticks every lifeWindow/8 (37.5 ms with PresetFast, between
// 10 ms and 1 s) and a tick that arrives more than Config.StallThreshold
// (default lifeWindow: three probe intervals, 300 ms with PresetFast) late
// marks a stall, logged at Info; a failure reported while the detector is
// overdue counts as right after a stall. Time during which the local
// member did not run is no evidence of anyone's silence: within lifeWindow
// after a stall every failure is held as above (even of a member never
// heard from), and then reported only if the member stayed silent for
// lifeWindow since the stall ended, or FailureHold passed. A member that
// refutes meanwhile is never reported; a member that really crashed
// during the stall is reported about lifeWindow to lifeWindow × 1.5
// after the stall (TestSimStallCrashStillReported asserts at most
// lifeWindow × 1.5 plus two detector ticks and logs the times: 0.32–0.42 s
// with PresetFast in three runs of go test -v -run
// TestSimStallCrashStillReported).
// In simulation (swimtest.Network.Stall, which cannot stop memberlist's
// own timers), 5 members stalled together for 1, 3 or 4.5 s: without the
// detector every run saw false failures (1 s: 127 in 20 runs; 3 and
// 4.5 s: every member reported every other failed, in every run); with
// it, 1 run in 300 saw one (TestSimStallSweep, SWIM_LONG=1, 20 runs per
// length; TestSimStallNoFalseFailure asserts at most 2 over 5 runs).
// Before the push/pull above was added, the same sweep saw 11 runs in
// 300: members whose death memberlist did not refute by itself within
// lifeWindow after the stall, reported until the re-join loop merged
// them again.
//
// # Hazards
//
//   - StateSuspect is local evidence (no acknowledged probe for two probe
//     rounds, or a failure held back as above), not memberlist's own
//     suspicion, which it keeps private; no event marks it. Use it to
//     prefer other replicas, never to move data.
//   - The failure hold relies on packets arriving from a member's
//     advertised address; behind NAT, where they come from elsewhere, it
//     holds only right after a local stall, and slow members are reported
//     as memberlist sees them.
//   - The stall detector sees only stalls of its own process. A stall of
//     other members alone (their host stalled, not ours) is, from here,
//     a slow or silent member, handled as above.
//   - Gossip encryption keys must rotate on all members in three steps
//     (InstallKey everywhere, then UseKey, then RemoveKey); skipping one
//     splits the cluster until the keys agree again.
//   - memberlist reports metrics to the process-wide go-metrics sink. This
//     package never installs one, so they go to go-metrics' default
//     no-op sink; an application that installs a global in-memory or
//     Prometheus sink receives every member's metrics mixed together.
//   - After Close, memberlist may still finish a probe that was under way
//     (up to ProbeInterval × AwarenessMaxMultiplier); it sends nothing.
//   - Node IDs must be unique; two live members with one ID conflict and
//     memberlist keeps the first. A member restarted on a new address takes
//     its ID over once the old address is declared dead and
//     DeadNodeReclaimTime passed (1 s with PresetFast); memberlist's own
//     presets never reclaim, so there it takes until the old entry is
//     forgotten (GossipToTheDeadTime) and the next push/pull.
//
// Usage:
//
//  1. Fill a Config: NodeID (stable per node), BindAddr, Seeds (host:port;
//     a DNS name such as a Kubernetes headless service works), and Meta
//     with the data transport address and zone.
//  2. Start it; Joined is closed once it found the cluster.
//  3. Range over Events (or poll Snapshot) and rebuild the ring on every
//     change; on EventRestart treat the member as empty; on EventResync
//     rebuild from Snapshot.
//  4. Read RTT or Member.Distance to prefer near replicas.
//  5. Close on shutdown: it leaves gracefully and stops every goroutine.
//
// Package swimtest provides an in-memory network (drop, delay, partition,
// crash) that runs inside testing/synctest, for tests of code built on this
// package.
package swim
