package gridkv

import "hash/crc32"

// MaxLocalVersionKeys bounds the keys of one LocalVersions call made for a
// client (the HTTP endpoint rejects more).
const MaxLocalVersionKeys = 10000

// LocalEntry is what this node's own store holds for one key: no quorum,
// no network. It is meant for checkers (is every key on exactly N nodes,
// with the same version?), not for applications.
type LocalEntry struct {
	Key string `json:"key"`
	// Found is false when the store holds nothing for the key (the other
	// fields are then zero).
	Found bool `json:"found"`
	// Tombstone marks a delete, or a value whose expiry has passed.
	Tombstone bool `json:"tombstone,omitempty"`
	// HLC and Node are the entry's version: the hybrid logical clock
	// timestamp of the write and the writer's node number.
	HLC  uint64 `json:"hlc,omitempty"`
	Node uint32 `json:"node,omitempty"`
	// Len and CRC32C are the length and the CRC-32C (Castagnoli) of the
	// value (zero for a tombstone).
	Len    int    `json:"len,omitempty"`
	CRC32C uint32 `json:"crc32c,omitempty"`
	// Expires is the absolute expiry in Unix milliseconds; 0 means never.
	Expires int64 `json:"expires,omitempty"`
	// Replica says whether the ring this node uses now places a replica of
	// the key on this node.
	Replica bool `json:"replica"`
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// LocalVersions reports, for each key, what this node's local store holds:
// whether it holds the key at all, its version, and the length and
// checksum of its value. It reads memory only (no replica is asked), so it
// answers on a node cut off from the others, and does not count as a read
// (no read repair). The result has one entry per key, in order.
func (g *GridKV) LocalVersions(keys []string) []LocalEntry {
	out := make([]LocalEntry, len(keys))
	for i, k := range keys {
		le := LocalEntry{Key: k, Replica: g.isReplica(k)}
		if e, ok := g.store.Read(k); ok {
			le.Found = true
			le.Tombstone = e.Tombstone
			le.HLC = uint64(e.Version.Time)
			le.Node = uint32(e.Version.Node)
			le.Expires = e.Expires
			if !e.Tombstone {
				le.Len = len(e.Value)
				le.CRC32C = crc32.Checksum(e.Value, castagnoli)
			}
		}
		out[i] = le
	}
	return out
}
