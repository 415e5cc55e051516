package hlc

// Timestamp is a hybrid logical clock reading packed into one uint64:
// the high 48 bits are wall-clock milliseconds since the Unix epoch and the
// low 16 bits are a logical counter. It orders correctly as an integer and as
// 8 big-endian bytes. The zero Timestamp is "no version".
type Timestamp uint64

const (
	// LogicalBits is the number of low bits that hold the logical counter.
	LogicalBits = 16
	logicalMask = 1<<LogicalBits - 1
)

// WallTime returns the wall-clock part in milliseconds since the Unix epoch.
func (t Timestamp) WallTime() int64 { return int64(uint64(t) >> LogicalBits) }

// Logical returns the logical counter.
func (t Timestamp) Logical() uint16 { return uint16(uint64(t) & logicalMask) }

// IsZero reports whether t is the zero Timestamp.
func (t Timestamp) IsZero() bool { return t == 0 }

// New packs a wall time in milliseconds and a logical counter.
func New(wallMillis int64, logical uint16) Timestamp {
	return Timestamp(uint64(wallMillis)<<LogicalBits | uint64(logical))
}
