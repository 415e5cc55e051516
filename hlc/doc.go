// Package hlc is a hybrid logical clock (Kulkarni et al. 2014), the version
// source for every write in GridKV.
//
// A hybrid logical clock reads like the wall clock, so versions say roughly
// when a write happened, but it also counts events, so it never goes
// backwards and it moves past every timestamp it receives from another node:
// a write that causally follows another (the node saw the first one's
// version before stamping its own) always gets a higher version, however far
// the nodes' wall clocks disagree.
//
// # Layout
//
// A Timestamp is one uint64: 48 bits of wall-clock milliseconds since the
// Unix epoch, then a 16-bit logical counter. Integer order is version order,
// and so is the byte order of its 8-byte big-endian form (Timestamp.Append,
// Decode). Its text form (Timestamp.String, Parse) is
// "<unix seconds>.<milliseconds>,<logical>", for example "1700000000.123,4".
//
// # Guarantees
//
//   - Now returns strictly increasing Timestamps, also across goroutines:
//     one Clock never issues the same Timestamp twice, and never the zero
//     Timestamp (until the end of its range in the year 10889, see below).
//   - After Update(remote) returns nil, every Now returns more than remote.
//   - Now follows the wall clock when it is ahead of every Timestamp seen,
//     and otherwise ticks the logical counter; when the wall clock steps
//     back, the clock keeps counting from where it was.
//   - Update rejects, with an *OffsetError matching ErrClockOffset, a remote
//     Timestamp more than Config.MaxOffset ahead of the local wall clock, and
//     leaves the clock as it was.
//   - Now and Update are lock-free (atomic operations on one word) and do
//     not allocate, except for the *OffsetError of a rejected Update.
//
// # Hazards
//
//   - Two Clocks can issue equal Timestamps: versions need a tie-breaker
//     (GridKV compares the node id next).
//   - The logical counter holds 65536 events per millisecond. A Clock that
//     goes faster, or that merged a remote Timestamp with a full counter,
//     does not wrap: the count carries into the wall part, and the Clock runs
//     up to a few milliseconds ahead of the wall clock until it catches up.
//   - MaxOffset guards only Update. A local wall clock that jumps far ahead
//     is trusted, and the Clock stays ahead (counting) after the wall clock
//     is set back, until the wall clock passes it again.
//   - A peer whose clock runs ahead, within MaxOffset, pulls every clock that
//     hears from it ahead by as much.
//   - A Clock is not persistent. A process that restarts while its wall
//     clock is behind the last Timestamp it issued can issue lower ones; call
//     Update with the highest Timestamp known (from disk or from peers)
//     before stamping writes.
//   - Wall times outside 1970 to the year 10889 are clamped to that range. A
//     Clock that counts past the last Timestamp of year 10889 wraps to zero.
//
// # Usage
//
//  1. Make one Clock per node with NewClock(nil), or with a Config that sets
//     MaxOffset to the clock skew the cluster tolerates. In tests, set
//     Config.WallClock to a ManualClock and move it by hand.
//  2. Stamp every local write, and every message sent, with Clock.Now.
//  3. Pass every Timestamp received from another node to Clock.Update before
//     acting on the message; if it fails with ErrClockOffset, refuse the
//     message (and report the peer's clock), as its timestamp would drag the
//     cluster into the future.
//  4. Compare versions as integers; store or send them with
//     Timestamp.Append and Decode, and log them with Timestamp.String.
package hlc
