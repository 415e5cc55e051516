// Package quorum is GridKV's replication engine: Dynamo-style N/W/R
// coordination of single-key writes and reads over the replicas a
// consistent-hash ring assigns, with read repair, hinted handoff,
// anti-entropy, rebalancing on ring changes, and a linearizable mode.
//
// A Node is embedded in each member. It reaches its peers through the
// Network interface it defines (gridkv adapts its transport; tests use an
// in-memory network), serves them through Handle, and keeps its replica
// data in a store.Store. It never imports a transport or a membership
// library: the caller feeds it rings (SetRing), liveness (SetAlive,
// Restarted) and latency (SetRTT).
//
// # Operations
//
// Set and Delete stamp a version (an hlc timestamp, then Config.NodeID),
// send the entry to the key's N replicas in parallel (applying it to the
// local store directly when this node is one of them) and return once W
// replicas applied it; the other calls go on in the background until the
// deadline. A replica acknowledges only after its store applied the entry,
// or when it already holds a newer version (the write then lost under
// last-write-wins on that replica, which is all a write can achieve; it
// is counted in Stats.Superseded). Fewer than W acknowledgements by the
// deadline fail with a *QuorumError (errors.Is ErrQuorumNotMet) that says
// how many of how many answered: the write's outcome is then unknown, it
// may be on some replicas and spread from them.
//
// Get asks R replicas in parallel, the local one first, then the live
// responsive ones of this node's zone (ring.Member.Zone) and then of the
// other zones, each by ascending RTT, then stalled ones, and members
// reported down last; it returns the highest version once R answered. A
// replica that fails is replaced by the next one at once, and when the
// answers are slow (none decisive after the larger of HedgeDelay and 3×
// the RTT of the last replica asked) the next replica is asked too, so a
// dead or hung replica neither fails nor stalls R=2 of N=3. Tombstones
// and expired values read as ErrNotFound.
// Replicas that answered with an older version (or nothing) are repaired
// with the winner, in the background by default (Config.ReadRepair).
//
// A peer is stalled while it has had calls of this node's reads and writes
// (repairs included) outstanding, and returned a reply to none of them,
// for at least the larger of Config.StallAfter (5 ms by default) and 4×
// its RTT (a reply is timed by the first read that notices it, so a stall
// may be found a little after that threshold); its next reply ends it (a
// failed call, a timeout in particular, does not). That is a paused or
// hung process that the failure detector has not reported yet: reads go
// around it at once (Stats.StalledSkips). And when a read's answers are
// not decisive one stall threshold after it asked a replica (if that is
// shorter than the replica's hedge delay), it checks whether a replica it
// waits for is stalled by then, and if so asks the next replica at once
// instead of after the hedge delay (Stats.StallHedges). When its calls
// have all timed out, nothing is outstanding: the next read asks it again,
// by RTT, and if it is still silent hedges after the stall threshold.
// Writes are unchanged (they go to all N replicas at once).
//
// When the ring has fewer than N members, keys go to all of them and W
// and R are capped at that number. Members that are merely down still
// count: quorums never shrink because of failures.
//
// An operation fails at once, without waiting for its deadline and
// without sending anything, when fewer of its replicas are believed alive
// (SetAlive; this node always is) than it needs: W for a write, R for a
// read, both for linearizable operations (a linearizable read's write-back
// counts the replicas that already answered with the winner). The
// *QuorumError then reports Got as the replicas believed alive. On the
// minority side of a partition, operations fail fast as soon as the
// failure detector noticed; before that, they fail at their deadline.
//
// # Consistency contract
//
//   - Convergence: after faults heal and writes stop, read repair, hinted
//     handoff and anti-entropy bring every replica of a key to its highest
//     version.
//   - Durability while replicas live: an acknowledged write survives while
//     one of the W replicas that applied it lives (it is a memory cache).
//   - With R + W > N and a stable ring, a Quorum read returns a version at
//     least as new as every write that completed before the read began.
//   - Linearizable (per operation or Config.Consistency): single-key reads
//     and writes are linearizable. Quorums are at least majorities and
//     always overlap. A write first reads the highest version B from a read
//     quorum, advances the clock past it (Clock.Update) and stamps
//     clock.Now(), which is above B and unique to this node, so it is ordered
//     after every write that completed before it began, whatever the wall
//     clocks say. (If B is further ahead of this node's wall clock than the
//     hlc MaxOffset allows, the write fails with hlc.ErrClockOffset.) A read
//     writes the entry it returns (also a tombstone) back to a write quorum
//     before returning, so no later read can return an older one. Hints
//     never count toward a quorum (no sloppy quorum).
//
// Not claimed: concurrent writes of one key are not all kept
// (last-write-wins keeps the highest version; the others are lost without
// error); there is no multi-key atomicity; a failed write (ErrQuorumNotMet)
// may still take effect later.
//
// # Ring changes
//
// SetRing swaps in a new ring atomically; coordinators use it from their
// next operation. A node that newly replicates a range (ring.Diff of the
// old and new ring) pulls it from the range's old replicas after
// Config.MoveDelay, page by page. Until it has read completely all but W-1
// of them (sources that are themselves still receiving the range do not
// count, unless every source answered), it is "receiving" the range:
//
//   - A receiving replica that is asked for a key of such a range (a read,
//     or a linearizable write's first phase) completes its answer: it
//     reads the key from the range's sources it has not yet read
//     completely, all of them at once, until the same rule holds for that
//     key (all but W-1 of the sources, counting those read completely
//     before; a source that is itself receiving the key's range does not
//     count unless every source answered; a Join node needs all but W-2),
//     and answers with the highest version among its own entry and theirs,
//     as an answer that counts. It also applies that winner to its store
//     if it is newer (skipping it, as a pull does, if it is further ahead
//     of its clock than MaxOffset). The sources answer from their store
//     only (they do not in turn ask theirs).
//   - If it cannot hear from enough sources within Timeout (or the
//     coordinator's deadline, when it is the coordinator), or already
//     runs 64 such reads, its answer is marked "receiving" and does not
//     count toward a read quorum, in any mode: the read asks another
//     replica instead. Its entry still competes for the highest version.
//     If too few other replicas answer, the read fails with
//     ErrQuorumNotMet (an All read with a source down fails during a
//     move, for example). Write acknowledgements of a receiving replica
//     always count: it applied the write, and keeps it.
//   - Every write acknowledged by W old replicas is on one of the sources a
//     new replica must read completely, so it is there before the new
//     replica's answers count: quorum intersection, and with it the R+W>N
//     and linearizable guarantees, carries over to the new ring.
//
// Why a completed answer is safe: let w be a write acknowledged before
// the read began, by a set S of W replicas of one ring (rings agree, see
// Hazards; acknowledged writes stay on the replicas that applied them
// while they live), and Q the replicas whose answers made up the read
// quorum on the new ring. If S is on the new ring, Q meets S (R+W>N);
// every replica in both answers with its own entry, w or newer, merged or
// not. If S is on the old ring, Q's members are of three kinds: old
// replicas that stay replicas (never receiving: they answer from their
// store), new replicas that finished pulling (complete: they hold w), and
// receiving replicas whose answer counts (they completed it). A receiving
// replica whose answer counts read w's key from all but W-1 of the old
// replicas, now or when its pull read them completely (every old-ring
// write was acknowledged before that pull began, MoveDelay after the
// ring change): one of them is in S and still holds w, as old replicas
// keep their copies until every new replica stopped receiving. A source
// that is itself receiving the key's range may lack w (it restarted
// empty, or is pulling the range itself), so, as in the pull, it does not
// count. A Join node's own lost copy may have been one of S:
// then only W-1 of S are among the other replicas, and it reads all but
// W-2 of them. So if Q holds a new replica that finished pulling or a
// completed answer, that answer holds w; otherwise every member of Q is
// an old replica, and Q meets S on the old ring (R+W>N). Either way the
// read sees w or a newer version, as before the change.
//
// A node that no longer replicates a range (it is among the old replicas
// and not the new ones, or left the ring) hands it off: after each round
// of pulls, and every 2 s (HintInterval if shorter) until it holds no
// copy of the range, it lists the versions each current replica of the
// range holds, pushes
// the entries a replica lacks (to replicas that are not still pulling),
// and drops its own copy of a key (store.Store.Drop, no tombstone) once
// every current replica holds that version or a newer one and is no longer
// receiving the range (it may be pulling from this node), and only that
// version: a newer write that reached it meanwhile, from a coordinator
// still on the old ring, is checked and handed over in the next round.
// Tombstones are handed off the same way. Nothing is dropped if the ring
// changed since the check, and a range that comes back to the node before
// it dropped its copies is kept. A range stays handed off
// (Stats.RangesHandingOff) at least MoveDelay + Timeout after the change,
// for the late writes of coordinators that swapped rings late; HandedOff
// reports when the last round of every such range found no copy left (a
// member leaving gracefully waits for it before it stops, see gridkv's
// Close). A round lists each replica's versions of all the ranges it
// hands to that replica at once (per listing, the ranges holding about
// 16384 of its copies, at most 4096 ranges, in pages of at most 16384
// versions; a replica that fails a request is not asked again in that
// round): a few round trips per replica, not one per range and replica
// (a member that leaves hands off a range per ring cell, thousands).
// Entries pushed to a
// node for keys it does not replicate in its ring (hints, anti-entropy,
// handoff) are ignored there, so no copy lands on a node that would not
// hand it off. After the moves, every key lives on exactly its N replicas.
//
// A node stays receiving for as long as too few old replicas can be read
// (Stats.RangesReceiving; pulls are retried every second, or every
// HintInterval if shorter, and a retry reads only the sources not yet read
// completely, which a later ring change also remembers): with the
// old replicas gone for good, its answers for those ranges keep not
// counting.
//
// Completing an answer makes network calls, so Quick reports no read as
// quick while a Node of the process is receiving any range (a transport
// then serves reads on goroutines of their own, not on the connection's
// reading one); and a node completes the answers Handle serves only from
// 100 ms after it started receiving (before, they are marked receiving),
// so that a read Quick let through just before does not block a
// connection (unless its reading goroutine stalled that long between
// Quick and Handle). A coordinator that is itself a receiving replica
// completes its own answer the same way, in a goroutine.
//
// A node that starts empty into a cluster that already holds data (a
// restart that lost memory, or a new member) is set up with Config.Join:
// its first ring makes it pull every range it replicates, with the same
// "receiving" rules meanwhile. As it may have been a replica before it
// lost its data (a write acknowledged by it and W-1 others is now on W-1
// of the sources only), it counts its own lost copy as a source that
// failed: it reads all but W-2 of the others completely.
//
// A node that pulls many ranges from one source (bulkPullMin: a joining
// node receives a range per ring cell, thousands with many virtual nodes)
// reads that source whole instead of range by range: the first such source
// by Scan pages of its whole store, the others by a versions listing of
// it, keeping only the keys of the ranges it receives. That is a few round
// trips per source instead of one per range and source, at the cost of
// reading keys it then skips. A source read whole that is itself receiving
// some range (after a leave every remaining member receives ranges at
// once) is then asked about each range separately (a versions listing of
// the range: only differing keys move), so that it counts as complete for
// the ranges it is not receiving. A source is read whole once per move:
// if that read fails (a page timed out under load), and in later rounds,
// it is read range by range, each completed range kept; a source that
// failed a request is not asked again in the same round. Without Join, a
// node restarted empty answers "not found" with full weight until
// anti-entropy (which Restarted starts on its peers) has refilled it, and
// linearizable reads can go back in time meanwhile.
//
// # Hazards
//
//   - Ring changes must reach every node before MoveDelay ends. A
//     coordinator that still uses the old ring after a new replica finished
//     pulling can get a write acknowledged only by replicas that are leaving;
//     the leaving replicas hand it over to the new replica set before they
//     drop it, but until then reads on the new ring can miss it. Such a
//     coordinator's reads can also ask old replicas that already dropped
//     the key (their "not found" counts). The R+W>N and linearizable
//     guarantees assume rings agree.
//   - An old replica drops a range's copies only once every current replica
//     of the range answered: while one of them is down or cut off, the old
//     replica keeps its copies (and keeps asking every 2 s). A
//     write that reaches an old replica after its handoff of the range
//     finished (a coordinator that stayed on the old ring longer than
//     MoveDelay + Timeout) stays there as a stray copy: no longer read or
//     updated, it goes away by eviction or when the node restarts.
//   - Hints live in the coordinator's memory: Close tries to deliver them
//     (within Config.Timeout, to the peers still on the ring), and what it
//     cannot deliver, or what a crash leaves, is lost. They are bounded
//     (Config.MaxHints, MaxHintBytes, HintTTL); anti-entropy repairs what
//     they miss. Keep HintTTL and the anti-entropy interval well
//     below the store's TombstoneGrace, or a delete can come back.
//   - Versions depend on hlc clocks. A replica refuses a write stamped more
//     than the clock's MaxOffset ahead of its own clock, and skips such
//     entries in hints, transfers and anti-entropy, so a runaway clock does
//     not spread; but the coordinator with that clock keeps its own copy
//     (the write fails with ErrQuorumNotMet). Config.NodeID must be unique
//     per node.
//   - Old copies can come back: a stray copy (see above), or copies of a
//     range that returns to a node before it handed them off, reappear if
//     the range returns to that node after a delete's tombstone was dropped
//     everywhere (store TombstoneGrace).
//   - Network.Call must not keep the request slice nor the context: the
//     Node reuses both. A Network that also implements AsyncNetwork (Go:
//     start a call, get the reply in a callback) saves the Node a goroutine
//     per call; it may use the context until the callback, not after.
//   - Join holds back a node's answers until its pulls finish, unless it
//     completes them from the other replicas: it needs all but W-2 of
//     them, both with N=3 and W=2, so while either is down or slow, reads
//     of the keys it receives fail (R=2), as before answers were
//     completed. Setting it on every boot is safe: in a cluster that
//     starts fresh the pulls finish as soon as the nodes reach each other
//     (every source answers that it is receiving too). The first ring
//     given to a Join node must list the members that hold the data, not
//     only the node itself (alone, it would be the only replica of
//     everything, with nothing to pull).
//
// Usage:
//
//  1. Create the store and the node: st, _ := store.New(nil);
//     n, err := quorum.New(quorum.Config{ID: "a", NodeID: 1, Store: st,
//     Network: net}); defer n.Close() (then st.Close()).
//  2. Route the peers' messages to n.Handle, and give the node the members:
//     n.SetRing(r) with a ring.Ring of every member (the same ring.Config on
//     every node), again on every membership change.
//  3. Feed the failure detector: n.SetAlive(id, false/true),
//     n.Restarted(id) when a member came back empty, n.SetRTT(id, rtt).
//  4. Write and read: n.Set(ctx, key, value, quorum.WithTTL(time.Minute)),
//     v, err := n.Get(ctx, key) (errors.Is(err, quorum.ErrNotFound)),
//     n.Delete(ctx, key); pass quorum.WithConsistency(quorum.Linearizable)
//     where an operation needs it.
//  5. Watch n.Stats(): quorum failures, hints held and dropped, anti-entropy
//     and rebalancing traffic (ranges received and handed off).
package quorum
