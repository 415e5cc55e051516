package gridkv

// KillTransport closes g's data transport while its membership stays up:
// to the others it is alive but answers no data request, like a hung
// process.
func KillTransport(g *GridKV) { g.tr.Close() }
