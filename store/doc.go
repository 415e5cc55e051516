// Package store is a GridKV node's in-memory replica store: a sharded,
// versioned key-value map with last-write-wins, TTL, tombstones, a memory
// limit with eviction, hash-range scans and incremental anti-entropy
// digests. It is the hot path of an embedded cache, built for local reads.
//
// # Guarantees
//
//   - Last-write-wins: Apply stores a write only if its Version (hlc
//     timestamp, then NodeID) is newer than the stored one, and reports
//     whether it did. Replicated writes, read repair, hinted handoff and
//     range transfer all use Apply, so replaying writes any number of times
//     in any order converges to the same state.
//   - Delete stores a tombstone (a versioned write with no value). Reads
//     treat tombstones and expired values as missing; the replication read
//     (Read) and Scan return them, with their versions, because they still
//     supersede older writes on other replicas. An expired value turns into
//     a tombstone with the same version. Tombstones are dropped
//     Config.TombstoneGrace after their version time (or expiry).
//   - Drop(key, v) removes an entry without a tombstone, and only if its
//     stored version is exactly v: a replica hands a key over to others (a
//     ring change) by checking that they hold v or newer and then dropping
//     v, and a newer write that arrived meanwhile is kept. Digests, Stats and
//     the memory charge lose the entry as with eviction.
//   - Expiry is absolute (Unix ms, the same on every replica). Expired
//     entries are removed lazily on access, by eviction, and by a background
//     sweep that examines at most Config.SweepBatch slots per shard per run
//     under that shard's lock only: never a scan of all keys at once.
//   - Memory: with Config.MaxBytes set, writes never fail for lack of
//     memory; other entries are evicted instead, and Stats.Bytes stays at
//     the limit (beyond it only by the writes in flight). Stats.Bytes
//     charges each entry the Go size class of its one allocation plus its
//     share of the index, and the store's fixed structures.
//   - Values are immutable once stored. Apply copies what it is given; View,
//     Read and Scan hand out the stored memory itself without copying, and a
//     later write never changes it (it allocates a new entry). Callers must
//     not modify a slice they got from the store; Get returns a private copy.
//   - Every method is safe for concurrent use. Reads take no lock (except
//     once, to turn a value found expired into a tombstone) and View and
//     Read do not allocate.
//
// # Hazards
//
//   - Evicted, dropped (Drop) entries and dropped tombstones leave no
//     trace: a missing key accepts any version, so an old write delivered
//     late can reappear. Drop is not a delete (Delete writes a tombstone).
//     Keep TombstoneGrace longer than hint and anti-entropy delays, and size
//     MaxBytes so that eviction stays rare in a replicated cache: anti-entropy
//     will re-send keys that one replica evicted.
//   - NodeID must be unique per node (it breaks timestamp ties).
//   - The Go heap in use can exceed Stats.Bytes after heavy eviction churn
//     of mixed value sizes: freed slots stay in partly used spans until
//     writes of the same size class reuse them (TestEvictionStorm logs heap
//     in use 2.5-3x the limit, while the live heap stays within about 8%
//     of it).
//   - Digests of two replicas are comparable only with the same DigestBits.
//
// # Eviction
//
// CLOCK with a 2-bit frequency counter per entry (GCLOCK). A read sets the
// counter up (only if it is not already at its maximum, so hot keys cost
// no writes to shared memory); the clock hand sweeping a shard's slots
// counts it down and evicts the first entry at zero. New entries start at
// zero, so one-hit wonders from a scan go on the first pass while keys read
// a few times survive several: the scan resistance and skew-friendliness
// of LFU-ish policies (close to S3-FIFO's quick demotion), at one atomic
// byte per entry and no queue pointers, which would cost more memory than
// the whole per-entry overhead budget. Tombstones start at the maximum so
// deletes are not forgotten first.
//
// # Layout
//
// 256 shards by the top 8 bits of the key hash. Each entry is one immutable,
// pointer-free allocation (28-byte header, key, value): a 16-byte key with a
// 100-byte value fills a 144-byte size class exactly. Each shard indexes its
// entries with an open-addressing table of 16-byte (full hash, pointer)
// slots, laid out in hash order, which readers probe with atomic loads and
// no lock, and which lets a hash range be read without walking other keys.
// A key's home slot is its place in its shard's hash range, so the layout
// assumes keys spread over that range. A replica holding only part of it
// (a ring with few points per member) has its keys bunched: their probe
// chains grow with the bunch (a lookup then reads many slots: 2000 keys
// bunched at the end of one shard's range, Get median 1.7 µs against 68 ns
// for 2000 spread keys, BenchmarkGetBunched, 2 cores under load), and a
// bunch at the end of a shard's range extends the overflow area after the
// last home slot, which rebuilds lengthen as needed
// (TestBunchedKeysAtShardEnd).
// Measured: about 56 bytes of heap per entry beyond key and value at 1M
// entries (TestHeapPerEntry, BenchmarkHeapPerEntry).
//
// # Digests
//
// The hash space is cut into 2^DigestBits aligned buckets (default 65536).
// Each bucket keeps the wrapping sum of a 64-bit mix of (key hash, version)
// over its entries, updated in O(1) by every write, eviction and removal.
// Digest(r) turns the buckets of r into a tree of fanout 16; Tree.Diff
// descends only into differing subtrees; Versions lists a differing
// bucket's keys. Comparing two replicas costs O(buckets), and listing the
// differences O(entries of the differing buckets).
//
// Usage:
//
//  1. Create a store: s, err := store.New(&store.Config{MaxBytes: 1 << 30}); defer s.Close().
//  2. Write with a version from an hlc clock: s.Set(key, value, store.Version{Time: clock.Now(), Node: id}, 0),
//     or apply a replicated entry: applied, err := s.Apply(entry).
//  3. Read: v, ok := s.View(key) (zero-copy, read-only) or s.Get(key) (a copy);
//     the replication layer uses s.Read(key) to see versions and tombstones.
//  4. Delete: s.Delete(key, version).
//  5. Anti-entropy: t := s.Digest(r); diff, _ := t.Diff(peerTree); for each
//     range in diff compare s.Versions(nil, rng) with the peer's and Apply
//     the newer entries.
//  6. Transfer a range: page through it with s.Scan(nil, r, cursor, 512)
//     until cursor.Done, sending each page (Entry.AppendBinary); once the
//     receivers hold a key's version kv.Version (or newer), drop the local
//     copy with s.Drop(kv.Key, kv.Version).
package store
