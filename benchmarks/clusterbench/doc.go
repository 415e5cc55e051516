// Package clusterbench compares a whole GridKV cluster with
// github.com/buraksezer/olric v0.5.7 and with its own building blocks, in one
// process on 127.0.0.1. Every benchmark starts its clusters itself and closes
// every node before the next system runs. Run:
//
//	cd benchmarks && go run ./cmd/compare -count 5
//
// which builds this package's test binary, runs all its benchmarks 5 times
// in a row, and prints the medians and the target ratios. go test -count 5
// would repeat each sub-benchmark back to back instead (all of GridKV, then
// all of Olric): on a shared, noisy machine the rounds of compare, in which
// every system takes its turn, are the fair way. Benchmarks:
//
//   - BenchmarkMixed: 3 nodes, N=3 W=2 R=2, 100k keys of 16 bytes with
//     100-byte values preloaded, then 50/50 Get/Set of uniformly random keys
//     from 32 and from 2 goroutines; each operation goes to a random one of
//     the 3 nodes. Sub-benchmarks c=32/gridkv, c=2/gridkv, c=32/olric, ...
//     Olric is configured the same way: 3 embedded members, ReplicaCount 3,
//     WriteQuorum 2, ReadQuorum 2, sync replication (ReadRepair stays off,
//     its default: Olric's repair runs inside the Get, so turning it on
//     only slows Olric down; GridKV repairs asynchronously). Note how Olric
//     v0.5.7 uses them: an operation goes to the key's partition owner,
//     which calls every backup one after the other (a Put waits for both
//     backups, a Get asks both) and checks the quorum afterwards; GridKV
//     calls the replicas in parallel and returns after W or R answers.
//     c=32/floor and c=2/floor run GridKV's replication engine alone: 3
//     quorum.Nodes with the same stores, ring and N/W/R, on a network that
//     costs nothing (a call runs the peer's Handle on the caller's
//     goroutine). It is not a usable system: it is what GridKV would do
//     with a free transport; a transport only adds CPU to the engine's,
//     so olric's cpu-ns/op ÷ floor's bounds the cpu-ns/op ratio any
//     transport could give on the machine.
//   - BenchmarkSequential: one goroutine, one call at a time: a transport
//     round trip of 100 bytes (the floor of any replicated write), a GridKV
//     quorum Set (W=2), and an Olric Put with WriteQuorum 2.
//   - BenchmarkLocalGet: a Get with consistency One on a node that holds a
//     replica (every node does, with N=3 on 3 nodes) against store.Get, the
//     local copy it reads, on the same 100k keys; serial and parallel.
//
// Each reports ops/s; cpu-ns/op, the CPU time of the whole process (all
// nodes and callers) per operation, which depends much less than ops/s on
// what other processes of a shared machine take; allocations per operation,
// also across the whole process; and, except BenchmarkLocalGet, p50-ns,
// p99-ns and p999-ns from a log-linear Histogram (about 3% precision) of
// every call.
//
// The flag -clusterbench.systems (default "gridkv,olric,floor") skips systems,
// for profiles of one of them:
//
//	go test -run '^$' -bench 'Mixed/c=32' -cpuprofile cpu.out ./clusterbench -args -clusterbench.systems=gridkv
package clusterbench
