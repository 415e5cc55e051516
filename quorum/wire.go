package quorum

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gridkv/gridkv/hlc"
	"github.com/gridkv/gridkv/store"
)

// Wire format. Every message starts with two bytes: the format version
// (wireVersion) and the message type. Integers are big endian (fixed
// width) or uvarints (lengths and counts); entries use store's encoding
// (store.Entry.AppendBinary). Every count and length is checked against an
// explicit limit and against the bytes actually left before anything is
// allocated for it, so a decoder allocates at most a small constant
// factor of its input size (about 16x for fetch lists of short keys) and
// never panics.
//
//	write         entry                                  → writeAck
//	writeAck      status(1) version(12)
//	read          flags(1) key                           → readReply
//	readReply     flags(1) [entry]
//	batch         count entries...                       → batchAck
//	batchAck      count(applied)
//	roots         count (start(8) end(8) root(8))...     → rootsReply
//	rootsReply    count index...
//	versions      start(8) end(8) limit                  → versionsReply
//	versionsReply flags(1: truncated, 2: the source is receiving the range) count (key time(8) node(4) flags(1))...
//	fetch         count key...                           → fetchReply (a batch body)
//	scan          start(8) end(8) cursor limit           → scanReply
//	scanReply     flags(1: the source is itself receiving the range) cursor count entries...
//	error         code(1) text
//	listVersions  index cursor limit count (start(8) end(8))... → listVersionsReply
//	listVersionsReply index cursor count index... count (key time(8) node(4) flags(1))...
//
// key = uvarint length + bytes; version = time(8) node(4);
// cursor = flags(1: started, 2: done) hash(8) key.
const wireVersion = 1

type msgType byte

const (
	mWrite msgType = iota + 1
	mWriteAck
	mRead
	mReadReply
	mBatch
	mBatchAck
	mRoots
	mRootsReply
	mVersions
	mVersionsReply
	mFetch
	mFetchReply
	mScan
	mScanReply
	mError
	mListVersions
	mListVersionsReply
	mLast = mListVersionsReply
)

var msgNames = [...]string{"", "write", "writeAck", "read", "readReply", "batch", "batchAck", "roots",
	"rootsReply", "versions", "versionsReply", "fetch", "fetchReply", "scan", "scanReply", "error",
	"listVersions", "listVersionsReply"}

func (t msgType) String() string {
	if t >= 1 && t <= mLast {
		return msgNames[t]
	}
	return fmt.Sprintf("msgType(%d)", byte(t))
}

// Limits of the wire format.
const (
	maxKeyLen      = store.MaxKeySizeLimit
	maxBatch       = 4096    // entries in a batch, fetch reply or scan reply; keys in a fetch
	maxBatchBytes  = 4 << 20 // a batch is cut after this many bytes of entries (one larger entry may pass)
	maxRoots       = 4096    // ranges in a roots message (each costs the receiver a digest)
	maxVersions    = 1 << 16 // key versions in a versions reply
	maxErrorText   = 1024
	minEntrySize   = 17 // store's smallest encoded entry
	versionSize    = 12
	rootSize       = 24
	minVersionSize = 1 + versionSize + 1
)

// Status of a writeAck.
const (
	ackApplied    = 0 // the replica stored the write
	ackSuperseded = 1 // the replica already holds a newer version (the write is durable there in LWW terms)
)

// Flags of read and readReply.
const (
	readVersionOnly = 1 // read: the reply's entry carries no value
	readDirect      = 2 // read: answer from the local store only, never from the sources of a range being received (moveread.go)
	replyFound      = 1 // readReply: an entry follows
	replyPending    = 2 // readReply: the replica is still receiving the key's range and could not complete its answer from the sources: it does not count
)

// Error codes of an error message.
const (
	codeInternal  = 0
	codeInvalid   = 1 // the store rejected the entry (too large, ...)
	codeClosed    = 2
	codeMalformed = 3
	codeClock     = 4 // the entry's timestamp is too far in the future
)

var errShort = errors.New("short message")

// reader decodes with a sticky error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

func (r *reader) u8() byte {
	if r.err != nil || len(r.b) < 1 {
		r.fail("%v", errShort)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u32() uint32 {
	if r.err != nil || len(r.b) < 4 {
		r.fail("%v", errShort)
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) u64() uint64 {
	if r.err != nil || len(r.b) < 8 {
		r.fail("%v", errShort)
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// count reads a uvarint count of elements of at least minSize bytes each,
// at most limit, and no more than the bytes left can hold.
func (r *reader) count(limit, minSize int) int {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad count")
		return 0
	}
	r.b = r.b[n:]
	if v > uint64(limit) || v*uint64(minSize) > uint64(len(r.b)) {
		r.fail("count %d over limit %d or input", v, limit)
		return 0
	}
	return int(v)
}

func (r *reader) bytes(limit int) []byte {
	n := r.count(limit, 1)
	if r.err != nil {
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) key() string { return string(r.bytes(maxKeyLen)) }

func (r *reader) version() store.Version {
	t := r.u64()
	return store.Version{Time: hlc.Timestamp(t), Node: store.NodeID(r.u32())}
}

func (r *reader) entry() store.Entry {
	if r.err != nil {
		return store.Entry{}
	}
	e, n, err := store.DecodeEntry(r.b)
	if err != nil {
		r.fail("entry: %v", err)
		return store.Entry{}
	}
	r.b = r.b[n:]
	return e
}

func (r *reader) entries(dst []store.Entry) []store.Entry {
	n := r.count(maxBatch, minEntrySize)
	for range n {
		e := r.entry()
		if r.err != nil {
			return dst
		}
		dst = append(dst, e)
	}
	return dst
}

func (r *reader) cursor() store.Cursor {
	f := r.u8()
	if f&^3 != 0 {
		r.fail("bad cursor flags %#x", f)
	}
	h := r.u64()
	k := r.key()
	return store.Cursor{Started: f&1 != 0, Done: f&2 != 0, Hash: h, Key: k}
}

// end fails if bytes are left over.
func (r *reader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	return r.err
}

// header checks the version and type of a message and returns a reader of
// its body.
func header(b []byte) (msgType, reader, error) {
	if len(b) < 2 {
		return 0, reader{}, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	if b[0] != wireVersion {
		return 0, reader{}, fmt.Errorf("%w: unknown version %d", ErrMalformed, b[0])
	}
	t := msgType(b[1])
	if t < 1 || t > mLast {
		return 0, reader{}, fmt.Errorf("%w: unknown message type %d", ErrMalformed, b[1])
	}
	return t, reader{b: b[2:]}, nil
}

// expect checks that b is a message of type want; an error message is
// turned into its error.
func expect(b []byte, want msgType) (reader, error) {
	t, r, err := header(b)
	if err != nil {
		return r, err
	}
	if t == mError {
		return r, decodeError(r)
	}
	if t != want {
		return r, fmt.Errorf("%w: got %v, want %v", ErrMalformed, t, want)
	}
	return r, nil
}

// Encoders.

func appendHeader(b []byte, t msgType) []byte { return append(b, wireVersion, byte(t)) }

func appendKey(b []byte, k string) []byte {
	b = binary.AppendUvarint(b, uint64(len(k)))
	return append(b, k...)
}

func appendVersion(b []byte, v store.Version) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(v.Time))
	return binary.BigEndian.AppendUint32(b, uint32(v.Node))
}

func appendCursor(b []byte, c store.Cursor) []byte {
	var f byte
	if c.Started {
		f |= 1
	}
	if c.Done {
		f |= 2
	}
	b = append(b, f)
	b = binary.BigEndian.AppendUint64(b, c.Hash)
	return appendKey(b, c.Key)
}

func appendRange(b []byte, r store.Range) []byte {
	b = binary.BigEndian.AppendUint64(b, r.Start)
	return binary.BigEndian.AppendUint64(b, r.End)
}

func encodeWrite(b []byte, e store.Entry) ([]byte, error) {
	return e.AppendBinary(appendHeader(b, mWrite))
}

func encodeWriteAck(b []byte, status byte, v store.Version) []byte {
	b = append(appendHeader(b, mWriteAck), status)
	return appendVersion(b, v)
}

func decodeWriteAck(b []byte) (status byte, v store.Version, err error) {
	r, err := expect(b, mWriteAck)
	if err != nil {
		return 0, v, err
	}
	status = r.u8()
	v = r.version()
	if status > ackSuperseded {
		r.fail("bad ack status %d", status)
	}
	return status, v, r.end()
}

func encodeRead(b []byte, key string, flags byte) []byte {
	b = append(appendHeader(b, mRead), flags)
	return appendKey(b, key)
}

func decodeRead(r reader) (key string, flags byte, err error) {
	flags = r.u8()
	if flags&^(readVersionOnly|readDirect) != 0 {
		r.fail("bad read flags %#x", flags)
	}
	key = r.key()
	return key, flags, r.end()
}

// encodeReadReply: e is sent only if found; versionOnly strips the value.
func encodeReadReply(b []byte, e store.Entry, found, pending, versionOnly bool) ([]byte, error) {
	var f byte
	if found {
		f |= replyFound
	}
	if pending {
		f |= replyPending
	}
	b = append(appendHeader(b, mReadReply), f)
	if !found {
		return b, nil
	}
	if versionOnly {
		e.Value = nil
	}
	return e.AppendBinary(b)
}

type readReply struct {
	e       store.Entry
	found   bool
	pending bool
}

func decodeReadReply(b []byte) (readReply, error) {
	r, err := expect(b, mReadReply)
	if err != nil {
		return readReply{}, err
	}
	f := r.u8()
	if f&^(replyFound|replyPending) != 0 {
		r.fail("bad reply flags %#x", f)
	}
	rr := readReply{found: f&replyFound != 0, pending: f&replyPending != 0}
	if rr.found {
		rr.e = r.entry()
	}
	return rr, r.end()
}

// appendEntries appends a count and entries, cutting at maxBatch entries
// or maxBatchBytes; it returns how many it took.
func appendEntries(b []byte, es []store.Entry) ([]byte, int, error) {
	n := min(len(es), maxBatch)
	start := len(b)
	b = binary.AppendUvarint(b, uint64(n))
	body := len(b)
	for i := range n {
		var err error
		if b, err = es[i].AppendBinary(b); err != nil {
			return b, i, err
		}
		if len(b)-body >= maxBatchBytes && i+1 < n {
			// Rewrite the count: cheaper to re-encode than to precompute.
			tail := append([]byte(nil), b[body:]...)
			b = binary.AppendUvarint(b[:start], uint64(i+1))
			return append(b, tail...), i + 1, nil
		}
	}
	return b, n, nil
}

func encodeBatch(b []byte, t msgType, es []store.Entry) ([]byte, int, error) {
	return appendEntries(appendHeader(b, t), es)
}

func decodeEntries(r reader, dst []store.Entry) ([]store.Entry, error) {
	dst = r.entries(dst)
	return dst, r.end()
}

func encodeCount(b []byte, t msgType, n int) []byte {
	return binary.AppendUvarint(appendHeader(b, t), uint64(n))
}

func decodeBatchAck(b []byte) (int, error) {
	r, err := expect(b, mBatchAck)
	if err != nil {
		return 0, err
	}
	n := r.count(maxBatch, 0)
	return n, r.end()
}

type rootItem struct {
	r    store.Range
	root uint64
}

func encodeRoots(b []byte, items []rootItem) []byte {
	b = binary.AppendUvarint(appendHeader(b, mRoots), uint64(len(items)))
	for _, it := range items {
		b = appendRange(b, it.r)
		b = binary.BigEndian.AppendUint64(b, it.root)
	}
	return b
}

func decodeRoots(r reader) ([]rootItem, error) {
	n := r.count(maxRoots, rootSize)
	items := make([]rootItem, 0, n)
	for range n {
		s, e, h := r.u64(), r.u64(), r.u64()
		items = append(items, rootItem{r: store.Range{Start: s, End: e}, root: h})
	}
	if r.err == nil {
		if err := checkRootsBudget(items); err != nil {
			r.fail("%v", err)
		}
	}
	return items, r.end()
}

func encodeIndices(b []byte, idx []int) []byte {
	b = binary.AppendUvarint(appendHeader(b, mRootsReply), uint64(len(idx)))
	for _, i := range idx {
		b = binary.AppendUvarint(b, uint64(i))
	}
	return b
}

// decodeIndices returns strictly increasing indices below limit.
func decodeIndices(b []byte, limit int) ([]int, error) {
	r, err := expect(b, mRootsReply)
	if err != nil {
		return nil, err
	}
	n := r.count(min(limit, maxRoots), 1)
	idx := make([]int, 0, n)
	for range n {
		v, k := binary.Uvarint(r.b)
		if k <= 0 || v >= uint64(limit) || (len(idx) > 0 && int(v) <= idx[len(idx)-1]) {
			r.fail("bad index")
			break
		}
		r.b = r.b[k:]
		idx = append(idx, int(v))
	}
	return idx, r.end()
}

func encodeVersions(b []byte, rg store.Range, limit int) []byte {
	b = appendRange(appendHeader(b, mVersions), rg)
	return binary.AppendUvarint(b, uint64(limit))
}

func decodeVersions(r reader) (store.Range, int, error) {
	s, e := r.u64(), r.u64()
	limit := r.count(maxVersions, 0)
	return store.Range{Start: s, End: e}, limit, r.end()
}

func encodeVersionsReply(b []byte, kvs []store.KeyVersion, truncated, receiving bool) []byte {
	var f byte
	if truncated {
		f |= 1
	}
	if receiving {
		f |= 2
	}
	b = append(appendHeader(b, mVersionsReply), f)
	return appendKeyVersions(b, kvs)
}

// appendKeyVersions appends a count and kvs' (key, version, tombstone)
// items, as reader.keyVersions reads them.
func appendKeyVersions(b []byte, kvs []store.KeyVersion) []byte {
	b = binary.AppendUvarint(b, uint64(len(kvs)))
	for _, kv := range kvs {
		b = appendKey(b, kv.Key)
		b = appendVersion(b, kv.Version)
		var tf byte
		if kv.Tombstone {
			tf = 1
		}
		b = append(b, tf)
	}
	return b
}

type versionsReply struct {
	kvs       []store.KeyVersion
	truncated bool // the source has more keys in the range than it sent
	receiving bool // the source is itself still receiving the range
}

func decodeVersionsReply(b []byte) (versionsReply, error) {
	r, err := expect(b, mVersionsReply)
	if err != nil {
		return versionsReply{}, err
	}
	f := r.u8()
	if f&^3 != 0 {
		r.fail("bad versions flags %#x", f)
	}
	vr := versionsReply{truncated: f&1 != 0, receiving: f&2 != 0}
	vr.kvs = r.keyVersions()
	return vr, r.end()
}

// keyVersions decodes a count and that many (key, version, tombstone)
// items, as appendKeyVersions writes them. The count is bounded by
// maxVersions and by the bytes left before anything is allocated.
func (r *reader) keyVersions() []store.KeyVersion {
	n := r.count(maxVersions, minVersionSize)
	kvs := make([]store.KeyVersion, 0, n)
	for range n {
		k := r.key()
		v := r.version()
		tf := r.u8()
		if tf&^1 != 0 {
			r.fail("bad version flags %#x", tf)
		}
		if r.err != nil {
			break
		}
		kvs = append(kvs, store.KeyVersion{Key: k, Hash: store.KeyHash(k), Version: v, Tombstone: tf == 1})
	}
	return kvs
}

func encodeFetch(b []byte, keys []string) []byte {
	b = binary.AppendUvarint(appendHeader(b, mFetch), uint64(len(keys)))
	for _, k := range keys {
		b = appendKey(b, k)
	}
	return b
}

func decodeFetch(r reader) ([]string, error) {
	n := r.count(maxBatch, 1)
	keys := make([]string, 0, n)
	for range n {
		k := r.key()
		if r.err != nil {
			break
		}
		keys = append(keys, k)
	}
	return keys, r.end()
}

func encodeScan(b []byte, rg store.Range, c store.Cursor, limit int) []byte {
	b = appendRange(appendHeader(b, mScan), rg)
	b = appendCursor(b, c)
	return binary.AppendUvarint(b, uint64(limit))
}

func decodeScan(r reader) (store.Range, store.Cursor, int, error) {
	s, e := r.u64(), r.u64()
	c := r.cursor()
	limit := r.count(maxBatch, 0)
	return store.Range{Start: s, End: e}, c, limit, r.end()
}

func encodeScanReply(b []byte, c store.Cursor, es []store.Entry, receiving bool) ([]byte, int, error) {
	var f byte
	if receiving {
		f = 1
	}
	b = appendCursor(append(appendHeader(b, mScanReply), f), c)
	return appendEntries(b, es)
}

type scanReply struct {
	next      store.Cursor
	es        []store.Entry
	receiving bool
}

func decodeScanReply(b []byte) (scanReply, error) {
	r, err := expect(b, mScanReply)
	if err != nil {
		return scanReply{}, err
	}
	f := r.u8()
	if f&^1 != 0 {
		r.fail("bad scan reply flags %#x", f)
	}
	sr := scanReply{receiving: f == 1}
	sr.next = r.cursor()
	sr.es = r.entries(nil)
	return sr, r.end()
}

func encodeError(b []byte, code byte, text string) []byte {
	if len(text) > maxErrorText {
		text = text[:maxErrorText]
	}
	b = append(appendHeader(b, mError), code)
	return appendKey(b, text)
}

// RemoteError is a replica's refusal, decoded from an error message. It
// matches ErrRemote.
type RemoteError struct {
	Code byte
	Text string
}

func (e *RemoteError) Error() string { return "quorum: replica refused: " + e.Text }

// Is reports whether target is ErrRemote.
func (e *RemoteError) Is(target error) bool { return target == ErrRemote }

func decodeError(r reader) error {
	code := r.u8()
	text := string(r.bytes(maxErrorText))
	if err := r.end(); err != nil {
		return err
	}
	return &RemoteError{Code: code, Text: text}
}

// decodeAny decodes any message fully; the fuzz test and the
// round-trip tests use it to reach every decoder.
func decodeAny(b []byte) (msgType, error) {
	t, r, err := header(b)
	if err != nil {
		return 0, err
	}
	switch t {
	case mWrite:
		r.entry()
		err = r.end()
	case mWriteAck:
		_, _, err = decodeWriteAck(b)
	case mRead:
		_, _, err = decodeRead(r)
	case mReadReply:
		_, err = decodeReadReply(b)
	case mBatch, mFetchReply:
		_, err = decodeEntries(r, nil)
	case mBatchAck:
		_, err = decodeBatchAck(b)
	case mRoots:
		_, err = decodeRoots(r)
	case mRootsReply:
		_, err = decodeIndices(b, maxRoots)
	case mVersions:
		_, _, err = decodeVersions(r)
	case mVersionsReply:
		_, err = decodeVersionsReply(b)
	case mFetch:
		_, err = decodeFetch(r)
	case mScan:
		_, _, _, err = decodeScan(r)
	case mScanReply:
		_, err = decodeScanReply(b)
	case mListVersions:
		_, err = decodeListVersions(r)
	case mListVersionsReply:
		_, err = decodeListVersionsReply(b)
	case mError:
		err = decodeError(r)
		var re *RemoteError
		if errors.As(err, &re) {
			err = nil
		}
	}
	return t, err
}

// listVersions is the versions listing of many ranges at once, in pages:
// a member handing ranges off asks each replica a few pages instead of a
// versions message per range. The position (index cursor) is the range
// of the list to go on with and the cursor in it; the reply gives the
// position of the next page (index equal to the number of ranges: done),
// the indices of the ranges of the page (from the request's index to the
// reply's, both included) that the replica is receiving, strictly
// increasing, and the key versions, in range order then Scan order.
// A page holds at most limit versions and about maxBatchBytes of keys.

type listVersionsReq struct {
	ranges []store.Range
	index  int
	cursor store.Cursor
	limit  int
}

func encodeListVersions(b []byte, q listVersionsReq) []byte {
	b = binary.AppendUvarint(appendHeader(b, mListVersions), uint64(q.index))
	b = appendCursor(b, q.cursor)
	b = binary.AppendUvarint(b, uint64(q.limit))
	b = binary.AppendUvarint(b, uint64(len(q.ranges)))
	for _, r := range q.ranges {
		b = appendRange(b, r)
	}
	return b
}

// decodeListVersions decodes a listVersions body. The ranges are at most
// maxRoots and their widths add up to the whole hash space at most (as a
// roots request's), so a page costs the receiver at most one walk of its
// store besides its entries.
func decodeListVersions(r reader) (listVersionsReq, error) {
	var q listVersionsReq
	index := r.count(maxRoots, 0)
	q.cursor = r.cursor()
	q.limit = r.count(maxVersions, 0)
	n := r.count(maxRoots, 16)
	if index > n {
		r.fail("index %d of %d ranges", index, n)
	}
	if r.err != nil {
		return q, r.err
	}
	q.index = index
	q.ranges = make([]store.Range, 0, n)
	items := make([]rootItem, 0, n)
	for range n {
		rg := store.Range{Start: r.u64(), End: r.u64()}
		q.ranges = append(q.ranges, rg)
		items = append(items, rootItem{r: rg})
	}
	if r.err == nil {
		if err := checkRootsBudget(items); err != nil {
			r.fail("%v", err)
		}
	}
	return q, r.end()
}

type listVersionsReply struct {
	index     int          // the next page starts at range index...
	cursor    store.Cursor // ...after this cursor
	receiving []int        // indices of the page's ranges the replica is receiving
	kvs       []store.KeyVersion
}

func encodeListVersionsReply(b []byte, p listVersionsReply) []byte {
	b = binary.AppendUvarint(appendHeader(b, mListVersionsReply), uint64(p.index))
	b = appendCursor(b, p.cursor)
	b = binary.AppendUvarint(b, uint64(len(p.receiving)))
	for _, i := range p.receiving {
		b = binary.AppendUvarint(b, uint64(i))
	}
	return appendKeyVersions(b, p.kvs)
}

// decodeListVersionsReply decodes a listVersionsReply; indices are below
// maxRoots and strictly increasing (the caller checks them against its
// request).
func decodeListVersionsReply(b []byte) (listVersionsReply, error) {
	var p listVersionsReply
	r, err := expect(b, mListVersionsReply)
	if err != nil {
		return p, err
	}
	p.index = r.count(maxRoots, 0)
	p.cursor = r.cursor()
	n := r.count(maxRoots, 1)
	p.receiving = make([]int, 0, n)
	for range n {
		i := r.count(maxRoots-1, 0)
		if r.err == nil && len(p.receiving) > 0 && i <= p.receiving[len(p.receiving)-1] {
			r.fail("receiving indices not increasing")
		}
		if r.err != nil {
			break
		}
		p.receiving = append(p.receiving, i)
	}
	p.kvs = r.keyVersions()
	return p, r.end()
}
