package quorum

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gridkv/gridkv/hlc"
	"github.com/gridkv/gridkv/store"
)

// Network is how a Node reaches its peers. gridkv adapts its transport to
// it; tests use an in-memory network.
//
// Call sends req to the member with ID to and returns its reply, which is
// what that member's Node.Handle returned. It must be safe for concurrent
// use and return promptly once ctx is done (with an error). It must not
// modify req, nor keep req or ctx after it returns: the Node reuses both
// (contexts are pooled; their Value method returns nil). The reply belongs
// to the Node. An error means the call failed on the way (the write then
// becomes a hint); a replica's refusal travels inside the reply.
type Network interface {
	Call(ctx context.Context, to string, req []byte) ([]byte, error)
}

// AsyncNetwork is a Network that can also start a call without waiting
// for it (gridkv's transport can): a Node then spends no goroutine per
// call. Go must call done exactly once, with what Call would have
// returned, possibly before Go returns; done does not block. The rules
// of Call hold, except that ctx may be used until done is called (not
// only until Go returns); req must not be kept once Go returns. The
// contexts a Node passes have an AfterFunc method (as context.AfterFunc
// looks for): watching them costs no goroutine.
type AsyncNetwork interface {
	Network
	Go(ctx context.Context, to string, req []byte, done func(reply []byte, err error))
}

// Consistency selects how many replicas an operation waits for.
type Consistency uint8

const (
	// Quorum waits for W replicas on writes and R on reads (the default).
	Quorum Consistency = iota
	// One waits for one replica.
	One
	// All waits for every replica of the key.
	All
	// Linearizable makes single-key reads and writes linearizable: writes
	// first read the highest version from a read quorum and write above
	// it, reads write the value they return back to a write quorum before
	// returning. Quorums are at least majorities. See the package
	// documentation.
	Linearizable
)

func (c Consistency) String() string {
	switch c {
	case Quorum:
		return "quorum"
	case One:
		return "one"
	case All:
		return "all"
	case Linearizable:
		return "linearizable"
	}
	return fmt.Sprintf("Consistency(%d)", uint8(c))
}

// ReadRepair selects what a read does about replicas that answered with an
// older version (or nothing) than the one it returns.
type ReadRepair uint8

const (
	// RepairAsync sends them the newest entry in the background (default).
	RepairAsync ReadRepair = iota
	// RepairSync sends it before the read returns (waiting at most until
	// the read's deadline; failures do not fail the read).
	RepairSync
	// RepairOff leaves them to anti-entropy.
	RepairOff
)

// Defaults for zero Config fields.
const (
	DefaultN                   = 3
	DefaultW                   = 2
	DefaultR                   = 2
	DefaultTimeout             = 2 * time.Second
	DefaultHedgeDelay          = 20 * time.Millisecond
	DefaultStallAfter          = 5 * time.Millisecond
	DefaultMaxHints            = 100_000
	DefaultMaxHintBytes        = 64 << 20
	DefaultHintTTL             = 5 * time.Minute
	DefaultHintInterval        = 10 * time.Second
	DefaultAntiEntropyInterval = time.Minute
	DefaultMoveDelay           = time.Second
)

// Config configures a Node. Zero fields mean their defaults; New validates
// the rest.
type Config struct {
	// ID is this node's member ID, as in ring.Member.ID. Required.
	ID string
	// NodeID breaks ties between equal timestamps; unique per node and
	// stable for its lifetime (see store.NodeID). Zero is allowed but
	// should then be unique too.
	NodeID store.NodeID
	// Store is the local replica store. Required. The caller owns it:
	// Node.Close does not close it.
	Store *store.Store
	// Network reaches the peers. Required.
	Network Network
	// Clock stamps versions; nil means a new clock on time.Now (the wall
	// clock, or testing/synctest's virtual clock in a bubble). It is
	// advanced by every version this node sees.
	Clock *hlc.Clock

	// N is the number of replicas of each key, W and R the replies a
	// write and a read wait for. Zero means 3, 2, 2. W and R must not
	// exceed N. When the ring has fewer than N members, keys go to all of
	// them and W and R are capped at the number of members.
	N, W, R int
	// Consistency is the level of operations that do not choose one.
	Consistency Consistency
	// ReadRepair: zero means RepairAsync.
	ReadRepair ReadRepair

	// Timeout bounds every operation (a context's earlier deadline
	// shortens it; a later one does not lengthen it), and the background
	// work an operation leaves behind.
	// Zero means DefaultTimeout.
	Timeout time.Duration
	// HedgeDelay: a read that has no reply from a replica after
	// max(HedgeDelay, 3×its RTT) asks the next replica too, so a hung
	// replica does not stall reads. Zero means DefaultHedgeDelay.
	HedgeDelay time.Duration
	// StallAfter: a peer that has had requests of this node's reads and
	// writes outstanding for max(StallAfter, 4×its RTT) without returning
	// a single reply is "stalled" (a paused or hung process the failure
	// detector has not noticed yet) until its next reply: reads ask it
	// after the responsive replicas, and a read waiting for it hedges
	// then instead of after HedgeDelay (see the package documentation,
	// Operations). It should stay well below HedgeDelay and above the
	// pauses a healthy peer shows (GC, scheduling on a loaded machine).
	// Zero means DefaultStallAfter; negative disables the rule.
	StallAfter time.Duration

	// MaxHints and MaxHintBytes bound the hints kept for unreachable
	// replicas (count of keys, and bytes of encoded entries, over all
	// peers); HintTTL is how long a hint is kept. Further hints are
	// dropped and counted (Stats.HintsDropped); anti-entropy repairs what
	// they would have. HintTTL must stay below the store's TombstoneGrace.
	// HintInterval is how often delivery is retried. Zero means defaults.
	MaxHints     int
	MaxHintBytes int64
	HintTTL      time.Duration
	HintInterval time.Duration

	// AntiEntropyInterval is how often this node compares every range it
	// replicates with the other replicas. Zero means the default, negative
	// disables the periodic rounds (Restarted and SetAlive still trigger
	// them).
	AntiEntropyInterval time.Duration

	// MoveDelay is how long a node waits after a ring change before it
	// pulls the ranges it newly replicates, so that the other nodes have
	// swapped in the new ring too. Zero means DefaultMoveDelay; negative
	// means no delay.
	MoveDelay time.Duration

	// Join makes the first SetRing start rebalancing as if this node
	// were new to every range it replicates: it pulls them from the other
	// replicas, and its answers for them do not count until it has. Set it
	// when the node joins (or rejoins, empty) a cluster that already holds
	// data. Setting it on every boot is safe (see the package
	// documentation, Hazards): in a cluster that starts fresh the pulls end
	// as soon as the nodes reach each other. The first ring must list the
	// members that hold the data, not only this node.
	Join bool

	// Logger receives background errors (hint delivery, anti-entropy,
	// rebalancing) at debug and warn level. Nil means silent.
	Logger *slog.Logger
}

func (c *Config) normalize() error {
	if c.ID == "" {
		return fmt.Errorf("%w: empty ID", ErrBadConfig)
	}
	if c.Store == nil {
		return fmt.Errorf("%w: nil Store", ErrBadConfig)
	}
	if c.Network == nil {
		return fmt.Errorf("%w: nil Network", ErrBadConfig)
	}
	if c.N == 0 && c.W == 0 && c.R == 0 {
		c.N, c.W, c.R = DefaultN, DefaultW, DefaultR
	}
	if c.N == 0 {
		c.N = DefaultN
	}
	if c.W == 0 {
		c.W = min(DefaultW, c.N)
	}
	if c.R == 0 {
		c.R = min(DefaultR, c.N)
	}
	if c.N < 1 || c.N > maxReplicas || c.W < 1 || c.W > c.N || c.R < 1 || c.R > c.N {
		return fmt.Errorf("%w: N=%d W=%d R=%d (need 1 <= W, R <= N <= %d)", ErrBadConfig, c.N, c.W, c.R, maxReplicas)
	}
	if c.Consistency > Linearizable {
		return fmt.Errorf("%w: consistency %v", ErrBadConfig, c.Consistency)
	}
	if c.ReadRepair > RepairOff {
		return fmt.Errorf("%w: read repair %d", ErrBadConfig, c.ReadRepair)
	}
	if c.Timeout < 0 || c.HedgeDelay < 0 || c.MaxHints < 0 || c.MaxHintBytes < 0 || c.HintTTL < 0 || c.HintInterval < 0 {
		return fmt.Errorf("%w: negative duration or limit", ErrBadConfig)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.Timeout, DefaultTimeout)
	def(&c.HedgeDelay, DefaultHedgeDelay)
	def(&c.StallAfter, DefaultStallAfter)
	def(&c.HintTTL, DefaultHintTTL)
	def(&c.HintInterval, DefaultHintInterval)
	def(&c.AntiEntropyInterval, DefaultAntiEntropyInterval)
	def(&c.MoveDelay, DefaultMoveDelay)
	if c.MoveDelay < 0 {
		c.MoveDelay = 0
	}
	if c.MaxHints == 0 {
		c.MaxHints = DefaultMaxHints
	}
	if c.MaxHintBytes == 0 {
		c.MaxHintBytes = DefaultMaxHintBytes
	}
	if c.Clock == nil {
		// time.Now rather than hlc's faster system clock: the store's TTL
		// clock is time.Now too, and both then follow testing/synctest's
		// virtual time.
		clk, err := hlc.NewClock(&hlc.Config{WallClock: stdWall{}})
		if err != nil {
			return err
		}
		c.Clock = clk
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

type stdWall struct{}

func (stdWall) Now() time.Time { return time.Now() }

// maxReplicas bounds N (and so the per-operation arrays).
const maxReplicas = 16

// Option changes one operation. Options are values (no allocation).
type Option struct {
	kind uint8
	d    time.Duration
	c    Consistency
}

const (
	optTTL uint8 = iota + 1
	optConsistency
)

// WithTTL makes a Set expire d after it is stamped (absolute expiry, the
// same on every replica). d <= 0 means no expiry.
func WithTTL(d time.Duration) Option { return Option{kind: optTTL, d: d} }

// WithConsistency sets the operation's consistency level.
func WithConsistency(c Consistency) Option { return Option{kind: optConsistency, c: c} }

type opOptions struct {
	ttl time.Duration
	c   Consistency
}

func (n *Node) options(opts []Option) opOptions {
	o := opOptions{c: n.cfg.Consistency}
	for _, op := range opts {
		switch op.kind {
		case optTTL:
			o.ttl = op.d
		case optConsistency:
			o.c = op.c
		}
	}
	return o
}
