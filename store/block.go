package store

import (
	"sync/atomic"
	"unsafe"

	"github.com/gridkv/gridkv/hlc"
)

// A block is one stored entry: a single pointer-free allocation holding a
// fixed header, the key and the value. Blocks are immutable once published
// (only the eviction counter in the meta word changes, atomically), so
// readers may hand out the key and value without copying, and a write
// replaces the whole block instead of changing it.
//
//	offset size
//	0      8    version time (hlc.Timestamp)
//	8      8    expiry, Unix ms (0: never)
//	16     4    version node
//	20     4    value length
//	24     4    meta (atomic): key length (bits 0-15), flags (16-23), CLOCK frequency (24-31)
//	28          key bytes, then value bytes
//
// Go allocates objects of 8 bytes or more at 8-byte aligned addresses, so
// the header fields are aligned.
type block = unsafe.Pointer

const (
	offTime    = 0
	offExpires = 8
	offNode    = 16
	offVlen    = 20
	offMeta    = 24

	metaTombstone = 1 << 16
	freqShift     = 24
	maxFreq       = 3
)

func newBlock(key string, value []byte, v Version, expires int64, tombstone bool, freq uint32) block {
	buf := make([]byte, entryHeader+len(key)+len(value))
	p := unsafe.Pointer(&buf[0])
	*(*uint64)(unsafe.Add(p, offTime)) = uint64(v.Time)
	*(*int64)(unsafe.Add(p, offExpires)) = expires
	*(*uint32)(unsafe.Add(p, offNode)) = uint32(v.Node)
	*(*uint32)(unsafe.Add(p, offVlen)) = uint32(len(value))
	meta := uint32(len(key)) | freq<<freqShift
	if tombstone {
		meta |= metaTombstone
	}
	*(*uint32)(unsafe.Add(p, offMeta)) = meta
	copy(buf[entryHeader:], key)
	copy(buf[entryHeader+len(key):], value)
	return p
}

func blkMeta(p block) uint32 { return atomic.LoadUint32((*uint32)(unsafe.Add(p, offMeta))) }

func blkVersion(p block) Version {
	return Version{
		Time: hlc.Timestamp(*(*uint64)(unsafe.Add(p, offTime))),
		Node: NodeID(*(*uint32)(unsafe.Add(p, offNode))),
	}
}

func blkExpires(p block) int64 { return *(*int64)(unsafe.Add(p, offExpires)) }

func blkTombstone(p block) bool { return blkMeta(p)&metaTombstone != 0 }

// blkKey returns the key, sharing the block's memory.
func blkKey(p block) string {
	n := blkMeta(p) & 0xffff
	if n == 0 {
		return ""
	}
	return unsafe.String((*byte)(unsafe.Add(p, entryHeader)), n)
}

// blkValue returns the value, sharing the block's memory; its capacity is
// its length so that an append by the caller cannot write into the block.
func blkValue(p block, meta uint32) []byte {
	n := *(*uint32)(unsafe.Add(p, offVlen))
	if n == 0 {
		// Never point past the end of the allocation.
		return unsafe.Slice((*byte)(p), 0)
	}
	return unsafe.Slice((*byte)(unsafe.Add(p, entryHeader+uintptr(meta&0xffff))), n)
}

// blkCost is what the block is charged against the memory limit.
func blkCost(p block) int64 {
	return int64(sizeClass(entryHeader+int(blkMeta(p)&0xffff)+int(*(*uint32)(unsafe.Add(p, offVlen))))) + indexOverhead
}

// blkTouch raises the CLOCK frequency. It writes only when the counter is
// below its maximum, so reading a hot key does not write shared memory.
func blkTouch(p block, meta uint32) {
	if meta>>freqShift < maxFreq {
		atomic.CompareAndSwapUint32((*uint32)(unsafe.Add(p, offMeta)), meta, meta+1<<freqShift)
	}
}

// blkCool lowers the CLOCK frequency and returns the value it had.
func blkCool(p block) uint32 {
	m := blkMeta(p)
	f := m >> freqShift
	if f > 0 {
		atomic.CompareAndSwapUint32((*uint32)(unsafe.Add(p, offMeta)), m, m-1<<freqShift)
	}
	return f
}

func setFreq(p block, f uint32) {
	m := (*uint32)(unsafe.Add(p, offMeta))
	*m = *m&^(0xff<<freqShift) | f<<freqShift
}
