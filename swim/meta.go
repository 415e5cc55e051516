package swim

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// Size limits of the metadata fields. Together with the fixed fields they
// keep an encoded Meta within memberlist's 512-byte limit (MetaMaxSize).
const (
	MaxTransportAddrLen = 255
	MaxZoneLen          = 64
	MaxAppLen           = 128

	// metaVersion is the first byte of every encoding. A decoder rejects
	// versions it does not know rather than guessing.
	metaVersion = 1
	// version(1) + flags(1) + protocol(2) + boot id(8) + three length bytes.
	metaFixedLen = 1 + 1 + 2 + 8 + 3

	// flagLeaving marks a member that is about to leave gracefully.
	// memberlist's leave notification cannot be told apart from a failure
	// (it never fills in Node.State), so a leaving member first publishes
	// this flag, and the dead message that follows is read as a leave.
	flagLeaving = 1 << 0
	knownFlags  = flagLeaving
)

// Meta is what a member publishes about itself to every other member.
type Meta struct {
	// TransportAddr is the address of the node's data transport (not the
	// gossip address), for example "10.0.0.7:7000".
	TransportAddr string
	// Zone is the zone or data centre, used for zone-aware placement.
	Zone string
	// BootID changes on every start of the process; a member seen again
	// with the same ID but another BootID restarted and lost its memory.
	BootID uint64
	// Protocol is the application protocol version the node speaks.
	Protocol uint16
	// App is a small opaque application field (at most MaxAppLen bytes).
	App []byte

	leaving bool
}

// EncodedLen returns the length of m's encoding.
func (m Meta) EncodedLen() int {
	return metaFixedLen + len(m.TransportAddr) + len(m.Zone) + len(m.App)
}

func (m Meta) validate() error {
	switch {
	case len(m.TransportAddr) > MaxTransportAddrLen:
		return fmt.Errorf("%w: transport address is %d bytes, max %d", ErrMeta, len(m.TransportAddr), MaxTransportAddrLen)
	case len(m.Zone) > MaxZoneLen:
		return fmt.Errorf("%w: zone is %d bytes, max %d", ErrMeta, len(m.Zone), MaxZoneLen)
	case len(m.App) > MaxAppLen:
		return fmt.Errorf("%w: app field is %d bytes, max %d", ErrMeta, len(m.App), MaxAppLen)
	case !utf8.ValidString(m.TransportAddr) || !utf8.ValidString(m.Zone):
		return fmt.Errorf("%w: transport address and zone must be UTF-8", ErrMeta)
	}
	return nil
}

// AppendBinary appends the encoding of m to b. The layout (version 1) is:
//
//	version u8 | flags u8 | protocol u16 BE | boot id u64 BE |
//	len u8 | transport addr | len u8 | zone | len u8 | app
func (m Meta) AppendBinary(b []byte) ([]byte, error) {
	if err := m.validate(); err != nil {
		return b, err
	}
	var flags byte
	if m.leaving {
		flags |= flagLeaving
	}
	b = append(b, metaVersion, flags)
	b = binary.BigEndian.AppendUint16(b, m.Protocol)
	b = binary.BigEndian.AppendUint64(b, m.BootID)
	b = append(b, byte(len(m.TransportAddr)))
	b = append(b, m.TransportAddr...)
	b = append(b, byte(len(m.Zone)))
	b = append(b, m.Zone...)
	b = append(b, byte(len(m.App)))
	b = append(b, m.App...)
	return b, nil
}

// MarshalBinary returns the encoding of m.
func (m Meta) MarshalBinary() ([]byte, error) {
	return m.AppendBinary(make([]byte, 0, m.EncodedLen()))
}

// UnmarshalBinary decodes b into m. It rejects unknown versions, truncated
// input, fields over their limits, invalid UTF-8 and trailing bytes, so
// garbage never decodes. App is copied; m does not alias b.
func (m *Meta) UnmarshalBinary(b []byte) error {
	if len(b) < metaFixedLen {
		return fmt.Errorf("%w: %d bytes, need at least %d", ErrMeta, len(b), metaFixedLen)
	}
	if b[0] != metaVersion {
		return fmt.Errorf("%w: unknown version %d", ErrMeta, b[0])
	}
	if b[1]&^knownFlags != 0 {
		return fmt.Errorf("%w: unknown flags %#x", ErrMeta, b[1])
	}
	var out Meta
	out.leaving = b[1]&flagLeaving != 0
	out.Protocol = binary.BigEndian.Uint16(b[2:4])
	out.BootID = binary.BigEndian.Uint64(b[4:12])
	rest := b[12:]
	field := func(name string, max int) ([]byte, error) {
		if len(rest) < 1 {
			return nil, fmt.Errorf("%w: truncated before %s", ErrMeta, name)
		}
		n := int(rest[0])
		if n > max {
			return nil, fmt.Errorf("%w: %s is %d bytes, max %d", ErrMeta, name, n, max)
		}
		if len(rest)-1 < n {
			return nil, fmt.Errorf("%w: truncated %s", ErrMeta, name)
		}
		f := rest[1 : 1+n]
		rest = rest[1+n:]
		return f, nil
	}
	addr, err := field("transport address", MaxTransportAddrLen)
	if err != nil {
		return err
	}
	zone, err := field("zone", MaxZoneLen)
	if err != nil {
		return err
	}
	app, err := field("app field", MaxAppLen)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrMeta, len(rest))
	}
	if !utf8.Valid(addr) || !utf8.Valid(zone) {
		return fmt.Errorf("%w: transport address and zone must be UTF-8", ErrMeta)
	}
	out.TransportAddr = string(addr)
	out.Zone = string(zone)
	if len(app) > 0 {
		out.App = append([]byte(nil), app...)
	}
	*m = out
	return nil
}

// DecodeMeta decodes an encoded Meta; see Meta.UnmarshalBinary.
func DecodeMeta(b []byte) (Meta, error) {
	var m Meta
	err := m.UnmarshalBinary(b)
	return m, err
}
