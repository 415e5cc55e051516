package gridkv

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/gridkv/gridkv/quorum"
	"github.com/gridkv/gridkv/transport"
)

// Every transport message starts with a channel byte and the sender's
// member ID, so the receiver knows who called (transport identifies peers
// by address and certificate, and all development certificates are alike):
//
//	channel u8 | len(from) u8 | from | payload
//
// The quorum engine's messages travel on chanQuorum; gridkv's own
// cluster-wide scan on chanScan.
const (
	chanQuorum byte = 'Q'
	chanScan   byte = 'S'
)

const maxIDLen = 255

var (
	errUnknownMember = errors.New("gridkv: member has no known transport address")
	errRefused       = errors.New("gridkv: replication requests refused")
)

// network adapts the transport to quorum.Network: it resolves member IDs to
// transport addresses through the membership's metadata.
type network struct {
	self  string
	tr    *transport.Transport
	addrs atomic.Pointer[map[string]string] // member ID -> transport address
	ids   atomic.Pointer[map[string]string] // member ID -> itself (memberID)
}

func (n *network) setAddrs(m map[string]string) {
	if old := n.addrs.Load(); old != nil && maps.Equal(*old, m) {
		return // rebuild runs every deadMemberCheck: mostly no change
	}
	ids := make(map[string]string, len(m))
	for id := range m {
		ids[id] = id
	}
	n.ids.Store(&ids)
	n.addrs.Store(&m)
}

// memberID returns b as a string, without allocating when it is the ID
// of a member the node knows.
func (n *network) memberID(b []byte) string {
	if m := n.ids.Load(); m != nil {
		if id, ok := (*m)[string(b)]; ok {
			return id
		}
	}
	return string(b)
}

func (n *network) addr(id string) (string, bool) {
	m := n.addrs.Load()
	if m == nil {
		return "", false
	}
	a, ok := (*m)[id]
	return a, ok
}

func appendEnvelope(b []byte, ch byte, from string) []byte {
	b = append(b, ch, byte(len(from)))
	return append(b, from...)
}

// splitEnvelope parses a message made with appendEnvelope: its channel,
// the sender's ID and the payload, both left in b.
func splitEnvelope(b []byte) (ch byte, from, payload []byte, err error) {
	if len(b) < 2 || len(b) < 2+int(b[1]) {
		return 0, nil, nil, errors.New("gridkv: short message")
	}
	n := int(b[1])
	return b[0], b[2 : 2+n], b[2+n:], nil
}

// inline is the transport's Config.Inline: the quorum engine's replica
// reads and writes are served on the connection's reading goroutine
// (quorum.Quick: they never block).
func inline(req []byte) bool {
	ch, _, payload, err := splitEnvelope(req)
	return err == nil && ch == chanQuorum && quorum.Quick(payload)
}

// call sends payload on channel ch to member to.
func (n *network) call(ctx context.Context, ch byte, to string, payload []byte) ([]byte, error) {
	a, ok := n.addr(to)
	if !ok {
		return nil, fmt.Errorf("%w: %s", errUnknownMember, to)
	}
	bp, buf := n.envelope(ch, payload)
	reply, err := n.tr.Call(ctx, a, buf) // does not retain buf
	putEnvelope(bp, buf)
	return reply, err
}

// start is call for quorumNet.Go: done gets the reply.
func (n *network) start(ctx context.Context, ch byte, to string, payload []byte, done func([]byte, error)) {
	a, ok := n.addr(to)
	if !ok {
		done(nil, fmt.Errorf("%w: %s", errUnknownMember, to))
		return
	}
	bp, buf := n.envelope(ch, payload)
	n.tr.Go(ctx, a, buf, done) // does not retain buf
	putEnvelope(bp, buf)
}

// envelopes recycles the buffers of outgoing messages: one allocation less
// per call. Buffers above maxPooledEnvelope are left to the GC.
var envelopes = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledEnvelope = 16 << 10

// envelope builds the message of payload on channel ch in a pooled buffer;
// putEnvelope returns it once the transport no longer needs buf.
func (n *network) envelope(ch byte, payload []byte) (*[]byte, []byte) {
	bp := envelopes.Get().(*[]byte)
	buf := appendEnvelope((*bp)[:0], ch, n.self)
	return bp, append(buf, payload...)
}

func putEnvelope(bp *[]byte, buf []byte) {
	if cap(buf) <= maxPooledEnvelope {
		*bp = buf
		envelopes.Put(bp)
	}
}

// quorumNet is the quorum.Network of a node.
type quorumNet struct{ n *network }

func (q quorumNet) Call(ctx context.Context, to string, req []byte) ([]byte, error) {
	return q.n.call(ctx, chanQuorum, to, req)
}

// Go makes quorumNet a quorum.AsyncNetwork: the engine starts its calls
// without a goroutine each.
func (q quorumNet) Go(ctx context.Context, to string, req []byte, done func([]byte, error)) {
	q.n.start(ctx, chanQuorum, to, req, done)
}
