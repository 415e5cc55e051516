// Package gridkv is an embedded, leaderless, Dynamo-style distributed cache:
// each process that imports it runs one node, nodes find each other by
// gossip, and every key is replicated to N nodes chosen on a consistent-hash
// ring. It is the thin assembly of the GridKV modules: store (the in-memory
// versioned store), hlc (versions), ring (placement), transport (QUIC RPC
// with mutual TLS), swim (membership and failure detection) and quorum (the
// replication engine). Package server and the gridkv command serve the same
// nodes over the Redis protocol and HTTP.
//
// # Guarantees
//
// What a node inherits from the modules, and what the tests of this
// package check end to end on real sockets:
//
//   - A Set that returned nil was applied by at least W replicas (Quorum,
//     the default; 1 with One, N with All). While one of them stays alive
//     it is not lost: the tests cut one replica off while writers run and
//     read every acknowledged write back, byte for byte, from the others
//     (TestHungReplica), and read back after a node closed
//     (TestCloseStopsGoroutines).
//   - With R + W > N (the default 2 + 2 > 3) and stable membership, a Get
//     that begins after a Set returned reads that value or a newer one.
//     The tests write through one node and read every key back from
//     every node. Linearizable selects the quorum module's linearizable
//     mode (writes that first read the highest version from a quorum,
//     reads that write back before returning).
//   - Versions are hybrid-logical-clock timestamps with the writer's node
//     as tie-breaker, so concurrent writes of a key resolve to the same
//     winner on every replica (last write wins).
//   - A replica that stops answering does not stall operations: W and R
//     complete with the others, and no acknowledged write is lost (tested
//     with one of three replicas whose data transport is closed while its
//     membership stays up; the tier-3 fault suite, benchmarks/cmd/faultsuite,
//     does the same with SIGSTOP and kill -9 of real processes).
//   - A member that fails keeps its place on the ring for
//     Options.DeadMemberTimeout (5 minutes by default): its replicas still
//     count in N, so W and R never shrink because members are down, and
//     the writes it misses are kept as hints (TestRingMembers checks the
//     rule; the quorum module's tests check quorums with down members).
//   - A node that comes back empty under its ID (a restart: new boot id)
//     is refilled from the other replicas (tested). Every node starts
//     with the quorum module's Config.Join: it pulls every range it
//     replicates from the other replicas, and until it has, its answers
//     do not count toward read quorums (reads ask the others), so Quorum
//     reads through any node keep returning every acknowledged write
//     from the moment it starts (tested with writes that only one
//     surviving replica holds). WaitReady waits for the pull; in a
//     cluster that starts fresh it ends at once.
//   - A node with SeedAddrs has no ring until it has joined: operations
//     issued before wait for it, within their deadline.
//   - A TTL is an absolute expiry, the same on every replica; expired keys
//     read as missing everywhere.
//   - Any node serves any key: a node that holds no replica of a key
//     coordinates its reads, writes and deletes over the network. A Get
//     with consistency One on a node that holds a replica reads local
//     memory only.
//   - Close leaves the cluster gracefully (the others see a leave at once,
//     not a failure) and stops every goroutine the node started. It first
//     keeps serving until the members that take its ranges hold its data
//     and finished their pulls (for at most 20 s, and not while one of
//     them does not answer its handoff requests), so that a write
//     acknowledged by it and one other replica is not left on one node
//     (TestGracefulLeaveHandsOff). Before it stops, it tries to deliver the hints it holds (writes a replica
//     missed), for at most ReplicationTimeout; those left are logged and
//     lost (TestCloseDeliversHints). The gridkv command's SIGTERM drain
//     ends with this Close.
//
// Not guaranteed: atomicity across keys (MSet, MGet), keeping more than one
// of several concurrent writes of a key, or anything once every replica of
// a key is gone (it is a memory cache). The read-then-write commands of the
// server (SET NX/XX/GET/KEEPTTL, EXPIRE, DEL's count) are not atomic: two
// concurrent SET NX of a missing key can both succeed, and EXPIRE can undo
// a write made between its read and its write.
//
// # Hazards
//
//   - A partition longer than DeadMemberTimeout lets each side drop the
//     other from its ring and accept writes alone; last-write-wins
//     reconciles the two sides after it heals.
//   - With a nil Options.TLS, node-to-node traffic uses an insecure
//     development certificate derived from EncryptionKey: fine on a laptop,
//     not in production, where Options.TLS must hold the cluster's mTLS
//     configuration (see transport.NewCA and transport.NodeTLS). The gridkv
//     command refuses to start with a node-to-node address that is not
//     loopback and no TLS files, unless given -insecure; its Redis and
//     HTTP listeners default to loopback, and on other addresses serve
//     only loopback clients until a password or token is set (protected
//     mode, server.Protect).
//   - Every node must use the same ReplicaCount, VirtualNodes and Storage
//     key and value limits, or nodes disagree on placement or refuse each
//     other's writes.
//   - Count (the server's DBSIZE) and the full Scan walk every key of the
//     cluster.
//   - Give each node its own metrics.Set (the default): the gauges of two
//     nodes in one Set would collide, and their latency histograms would
//     be written twice.
//
// Usage:
//
//  1. Start a node: kv, err := gridkv.New(gridkv.Options{LocalAddress:
//     "10.0.0.1:7946", SeedAddrs: []string{"10.0.0.2:7946"}, TLS: tlsConf});
//     defer kv.Close(). With no seeds it is a cluster of one; use
//     kv.WaitReady(ctx, n) to wait for n members.
//  2. Write and read: kv.Set(ctx, "k", value, gridkv.WithTTL(time.Minute));
//     v, err := kv.Get(ctx, "k"), where errors.Is(err, gridkv.ErrNotFound)
//     tells a missing key; choose per operation with
//     gridkv.WithConsistency(gridkv.One) and friends.
//  3. Group keys per user or tenant with kv.Namespace("user42"), list them
//     with Scan, and batch with MGet and MSet.
//  4. Watch it: kv.Members(), kv.Stats(), and kv.WritePrometheus(w) on
//     your /metrics, or run the gridkv command, which serves all of this
//     over Redis and HTTP.
package gridkv
