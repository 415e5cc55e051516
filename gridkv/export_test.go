package gridkv

// KillTransport closes g's data transport while its membership stays up:
// to the others it is alive but answers no data request, like a hung
// process.
func KillTransport(g *GridKV) { g.tr.Close() }

// Refuse makes g fail (on) or serve again (off) every replication request
// it receives, while its membership stays up and it still coordinates
// operations: a replica that misses the others' writes.
func Refuse(g *GridKV, on bool) { g.refuse.Store(on) }

// Holds reports whether g's own store holds key (a value or a tombstone).
func Holds(g *GridKV, key string) bool {
	_, ok := g.store.Read(key)
	return ok
}
