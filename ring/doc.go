// Package ring places keys on the members of a GridKV cluster: a key's owner
// and its N replicas, and what moves when membership changes.
//
// A Ring is immutable. New builds one from members (ID, optional Zone and
// Weight); callers look keys up by hash (KeyHash, xxh3) with Owner and
// Replicas, which return member indices into Members and never allocate.
// On a membership change, build a new Ring and swap it in atomically
// (atomic.Pointer[ring.Ring]): lookups never wait for a build. Diff
// lists the hash ranges whose replica set differs between two rings, for
// rebalancing and hinted handoff.
//
// # Guarantees
//
//   - Deterministic: the same members and Config give the same ring on every
//     node, whatever their order and whatever rings came before.
//   - Consistent: adding a member moves keys only to it; removing one moves
//     only its keys. (A member's points depend on its ID alone.)
//   - Replicas(h, n) are min(n, Len()) distinct members, the owner first,
//     one per zone before any zone gets a second, and Replicas(h, n) is a
//     prefix of Replicas(h, n+1).
//   - Owner and Replicas (n ≤ Config.MaxReplicas) allocate nothing and are
//     safe for concurrent use.
//
// # Placement algorithm
//
// Each member gets Config.Points × Weight points (1024 by default) on the
// 64-bit hash circle, at splitmix64 of xxh3(ID) + i·φ. A key belongs to the
// member of the nearest point: each point owns the cell between the
// midpoints to its neighbours. A classic ring gives a point the arc up to
// the next point, one random gap; a cell is half of two gaps, which halves
// the variance of a member's share: its coefficient of variation is about
// 1/sqrt(2·Points) instead of 1/sqrt(Points), so 1024 points balance like
// 2048 classic virtual nodes, at half the build time and memory.
//
// Measured over 1M random keys (TestBalance, fixed IDs node-0...): CV of
// keys per member 2.43% with 10 members and 2.19% with 100, max/mean 1.032
// and 1.051. Over 100 random sets of IDs (exact shares plus the sampling
// noise of 1M keys; RING_STATS=1 go test -run BalanceManyIDSets), the
// median CV is 1.9% (10 members) and 2.4% (100), the median max/mean 1.03
// and 1.06; the worst sets reach a CV of 3.2% and a max/mean of 1.09, so
// about one cluster in twenty misses 3% or 1.08. Points: 2048 halves the
// variance again (worst CV 2.6%, max/mean 1.07) for about twice the build
// time (BenchmarkNew/100/points=2048 against BenchmarkNew/100) and memory.
// An 11th member takes 8.9% of the keys (1/11 = 9.09%), all from the
// others (TestMovement).
//
// Alternatives considered: rendezvous hashing over a partition table needs
// about 250k partitions for this balance at 100 members, so an estimated
// 25M score evaluations per build (tens of ms; not measured). Bounded-load
// assignments such as buraksezer/consistent cap every member's load, but
// when a cap binds, partitions cascade to members that did not change, so
// they lose the consistency above, and their balance is limited by the
// partition count. Jump hash balances perfectly but has no member names
// (only the last bucket can leave) and no zones. Measurements side by side:
// benchmarks/ringbench.
//
// Lookups use a table indexed by the top bits of the hash, with about one
// bucket per cell. A bucket in which at most one cell starts holds the
// owners on both sides of that start and 32 more bits of it, so Owner is
// one memory access for 92% of hashes with 10 members and 87% with 100
// (TestTableStats); the others (a tie on those 32 bits, or a bucket where
// several cells start) scan the sorted cell starts. Replica lists are precomputed per
// cell for n up to Config.MaxReplicas (3 by default), so Replicas is a
// copy. A backward pass over the cells with move-to-front lists of members
// and zones builds them in O(cells × MaxReplicas); the points are sorted
// by a counting sort on their top bits. From 64k points (64 members), New
// fills the replica rows and the table on two goroutines, joined before
// it returns; the ring is the same. BenchmarkNew measures the build.
//
// # Hazards
//
//   - Every node must build its rings from the same member IDs, zones,
//     weights and Config; a different Points or Hash is a different ring.
//     KeyHash and the point layout are part of the wire contract: a test
//     pins them, changing them moves keys between versions.
//   - Member indices are valid for one Ring only; keep IDs across swaps.
//   - Memory is about 30 bytes per point (8 + 2 × MaxReplicas + the bucket
//     table): 0.34 MB for 10 members with the defaults, 3 MB for 100
//     (TestTableStats), so tens of MB for 1000. Lower Points for large
//     clusters (balance falls as 1/sqrt(2·Points)).
//   - Replicas with n > Config.MaxReplicas walks the ring and allocates;
//     set MaxReplicas to the largest replication factor in use.
//   - Weight 0 means 1: to take a member out, leave it out of the ring.
//   - Diff ranges never wrap; see Range.
//
// Usage:
//
//  1. Build a ring from the current members, with the same Config on
//     every node: r, err := ring.New(members, ring.Config{MaxReplicas: n}).
//  2. Keep it in an atomic.Pointer[ring.Ring]; per request, load it and
//     call r.Replicas(ring.KeyHash(key), n, dst[:0]) with a reused dst,
//     then r.Member(i).ID for each index.
//  3. On a membership change, build the new ring, compute
//     ring.Diff(old, next, n) to start the transfers of the ranges whose
//     replicas change, and store the new ring.
package ring
