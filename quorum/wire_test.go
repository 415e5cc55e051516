package quorum

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gridkv/gridkv/store"
)

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func first[A, B any](a A, _ B, err error) (A, error) { return a, err }

var (
	e1 = store.Entry{Key: "k1", Value: []byte("v1"), Version: ver(10), Expires: 99}
	e2 = store.Entry{Key: "k2", Version: ver(11), Tombstone: true}
)

// seedMessages returns one valid message of every type.
func seedMessages(t testing.TB) map[msgType][]byte {
	batch, _ := first(encodeBatch(nil, mBatch, []store.Entry{e1, e2}))
	fetchReply, _ := first(encodeBatch(nil, mFetchReply, []store.Entry{e1}))
	scanReply, _ := first(encodeScanReply(nil, store.Cursor{Started: true, Hash: 7, Key: "k1"}, []store.Entry{e1, e2}, true))
	return map[msgType][]byte{
		mWrite:         must(encodeWrite(nil, e1)),
		mWriteAck:      encodeWriteAck(nil, ackSuperseded, ver(12)),
		mRead:          encodeRead(nil, "k1", readVersionOnly),
		mReadReply:     must(encodeReadReply(nil, e1, true, true, false)),
		mBatch:         batch,
		mBatchAck:      encodeCount(nil, mBatchAck, 2),
		mRoots:         encodeRoots(nil, []rootItem{{r: store.Range{Start: 1, End: 2}, root: 3}, {r: store.Range{Start: 5, End: 0}, root: 4}}),
		mRootsReply:    encodeIndices(nil, []int{0, 1}),
		mVersions:      encodeVersions(nil, store.Range{Start: 1, End: 9}, 100),
		mVersionsReply: encodeVersionsReply(nil, []store.KeyVersion{{Key: "k1", Hash: store.KeyHash("k1"), Version: ver(3)}, {Key: "k2", Hash: store.KeyHash("k2"), Version: ver(4), Tombstone: true}}, true, true),
		mFetch:         encodeFetch(nil, []string{"k1", "k2"}),
		mFetchReply:    fetchReply,
		mScan:          encodeScan(nil, store.Range{Start: 3, End: 4}, store.Cursor{Started: true, Hash: 3, Key: "x"}, 512),
		mScanReply:     scanReply,
		mError:         encodeError(nil, codeInvalid, "store: value too large"),
		mListVersions: encodeListVersions(nil, listVersionsReq{ranges: []store.Range{{Start: 1, End: 9}, {Start: 20, End: 0}},
			index: 1, cursor: store.Cursor{Started: true, Hash: 21, Key: "k"}, limit: 100}),
		mListVersionsReply: encodeListVersionsReply(nil, listVersionsReply{index: 2, receiving: []int{0, 1},
			kvs: []store.KeyVersion{{Key: "k1", Hash: store.KeyHash("k1"), Version: ver(3)}, {Key: "k2", Hash: store.KeyHash("k2"), Version: ver(4), Tombstone: true}}}),
	}
}

func TestWireRoundTrip(t *testing.T) {
	msgs := seedMessages(t)
	for typ := msgType(1); typ <= mLast; typ++ {
		b, ok := msgs[typ]
		if !ok {
			t.Fatalf("no seed for %v", typ)
		}
		got, err := decodeAny(b)
		if err != nil || got != typ {
			t.Errorf("decodeAny(%v) = %v, %v", typ, got, err)
		}
	}
	// Field by field for the hot-path messages and the lists.
	status, v, err := decodeWriteAck(msgs[mWriteAck])
	if err != nil || status != ackSuperseded || v != ver(12) {
		t.Errorf("writeAck = %d %v %v", status, v, err)
	}
	rr, err := decodeReadReply(msgs[mReadReply])
	if err != nil || !rr.found || !rr.pending || rr.e.Key != "k1" || string(rr.e.Value) != "v1" || rr.e.Version != e1.Version || rr.e.Expires != 99 {
		t.Errorf("readReply = %+v %v", rr, err)
	}
	vo, _ := encodeReadReply(nil, e1, true, false, true)
	if rr, err := decodeReadReply(vo); err != nil || len(rr.e.Value) != 0 || rr.e.Version != e1.Version {
		t.Errorf("version-only readReply = %+v %v", rr, err)
	}
	_, r, _ := header(msgs[mRead])
	if k, f, err := decodeRead(r); err != nil || k != "k1" || f != readVersionOnly {
		t.Errorf("read = %q %d %v", k, f, err)
	}
	_, r, _ = header(msgs[mBatch])
	es, err := decodeEntries(r, nil)
	if diff := cmp.Diff([]store.Entry{e1, e2}, es); err != nil || diff != "" {
		t.Errorf("batch %v mismatch (-want +got):\n%s", err, diff)
	}
	vr, err := decodeVersionsReply(msgs[mVersionsReply])
	kvs := vr.kvs
	if err != nil || !vr.truncated || !vr.receiving || len(kvs) != 2 || kvs[1].Key != "k2" || !kvs[1].Tombstone || kvs[0].Version != ver(3) || kvs[0].Hash != store.KeyHash("k1") {
		t.Errorf("versionsReply = %+v %v", vr, err)
	}
	sr, err := decodeScanReply(msgs[mScanReply])
	if err != nil || sr.next != (store.Cursor{Started: true, Hash: 7, Key: "k1"}) || len(sr.es) != 2 || !sr.receiving {
		t.Errorf("scanReply = %+v %v", sr, err)
	}
	_, r, _ = header(msgs[mScan])
	rg, c, limit, err := decodeScan(r)
	_ = c
	if err != nil || rg != (store.Range{Start: 3, End: 4}) || c.Key != "x" || limit != 512 {
		t.Errorf("scan = %v %+v %d %v", rg, c, limit, err)
	}
	_, r, _ = header(msgs[mRoots])
	items, err := decodeRoots(r)
	if err != nil || len(items) != 2 || items[1].r.End != 0 || items[1].root != 4 {
		t.Errorf("roots = %+v %v", items, err)
	}
	if idx, err := decodeIndices(msgs[mRootsReply], 2); err != nil || !slicesEqual(idx, []int{0, 1}) {
		t.Errorf("indices = %v %v", idx, err)
	}
	_, r, _ = header(msgs[mFetch])
	if keys, err := decodeFetch(r); err != nil || len(keys) != 2 || keys[1] != "k2" {
		t.Errorf("fetch = %v %v", keys, err)
	}
	_, _, err = decodeWriteAck(msgs[mError])
	var re *RemoteError
	if !errors.Is(err, ErrRemote) || !errors.As(err, &re) || re.Code != codeInvalid {
		t.Errorf("error message decoded as %v", err)
	}
}

func slicesEqual(a, b []int) bool { return cmp.Equal(a, b) }

func TestWireMalformed(t *testing.T) {
	msgs := seedMessages(t)
	huge := binary.AppendUvarint(appendHeader(nil, mBatch), 1<<40)
	tooMany := binary.AppendUvarint(appendHeader(nil, mFetch), maxBatch+1)
	tooMany = append(tooMany, bytes.Repeat([]byte{1, 'a'}, maxBatch+1)...)
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"one byte", []byte{wireVersion}},
		{"bad version", []byte{9, byte(mWrite)}},
		{"type zero", []byte{wireVersion, 0}},
		{"unknown type", []byte{wireVersion, byte(mLast) + 1}},
		{"truncated write", msgs[mWrite][:len(msgs[mWrite])-1]},
		{"trailing byte", append(append([]byte(nil), msgs[mRead]...), 0)},
		{"count beyond input", huge},
		{"count over limit", tooMany},
		{"bad read flags", []byte{wireVersion, byte(mRead), 0x80, 1, 'k'}},
		{"bad ack status", encodeWriteAck(nil, 7, ver(1))},
		{"key length beyond input", []byte{wireVersion, byte(mRead), 0, 5, 'k'}},
		{"unsorted indices", encodeIndices(nil, []int{1, 0})},
		{"bad cursor flags", append(appendRange(appendHeader(nil, mScan), store.Range{}), 0x10)},
		{"bad reply flags", []byte{wireVersion, byte(mReadReply), 0x40}},
		{"found without entry", []byte{wireVersion, byte(mReadReply), replyFound}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeAny(tt.b); !errors.Is(err, ErrMalformed) {
				t.Errorf("decodeAny = %v, want ErrMalformed", err)
			}
		})
	}
	if _, err := decodeIndices(encodeIndices(nil, []int{3}), 3); !errors.Is(err, ErrMalformed) {
		t.Errorf("index out of range: %v", err)
	}
	if _, err := decodeReadReply(msgs[mWriteAck]); !errors.Is(err, ErrMalformed) {
		t.Errorf("wrong type: %v", err)
	}
}

func TestBatchCutBySize(t *testing.T) {
	big := make([]byte, maxBatchBytes/2+1)
	es := []store.Entry{{Key: "a", Value: big, Version: ver(1)}, {Key: "b", Value: big, Version: ver(1)}, {Key: "c", Value: big, Version: ver(1)}}
	b, k, err := encodeBatch(nil, mBatch, es)
	if err != nil || k != 2 {
		t.Fatalf("encodeBatch took %d, %v; want 2", k, err)
	}
	_, r, _ := header(b)
	got, err := decodeEntries(r, nil)
	if err != nil || len(got) != 2 || got[1].Key != "b" {
		t.Fatalf("decoded %d entries, %v", len(got), err)
	}
}

// FuzzDecode feeds arbitrary bytes to every decoder (through decodeAny and
// the reply decoders): no panic, every error wraps ErrMalformed, and
// decoded values survive a re-encoding.
func FuzzDecode(f *testing.F) {
	for _, b := range seedMessages(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, err := decodeAny(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// Decoding what the decoded value re-encodes to gives the same
		// value (varints need not be minimal on input, so bytes may differ).
		switch typ {
		case mWriteAck:
			status, v, _ := decodeWriteAck(b)
			s2, v2, err := decodeWriteAck(encodeWriteAck(nil, status, v))
			if err != nil || s2 != status || v2 != v {
				t.Fatalf("writeAck round trip: %d %v -> %d %v %v", status, v, s2, v2, err)
			}
		case mFetch:
			roundTrip(t, typ, b, decodeFetch, encodeFetch)
		case mRoots:
			roundTrip(t, typ, b, decodeRoots, encodeRoots, cmp.AllowUnexported(rootItem{}))
		case mListVersions:
			roundTrip(t, typ, b, decodeListVersions, encodeListVersions, cmp.AllowUnexported(listVersionsReq{}))
		}
		// Every reply decoder must refuse or accept without panicking.
		_, _ = decodeReadReply(b)
		_, _ = decodeBatchAck(b)
		_, _ = decodeVersionsReply(b)
		_, _ = decodeScanReply(b)
		_, _ = decodeIndices(b, 10)
		_, _ = decodeListVersionsReply(b)
	})
}

// FuzzHandle feeds arbitrary requests to a Node: never a panic, and every
// failure is a clear error.
func FuzzHandle(f *testing.F) {
	for _, b := range seedMessages(f) {
		f.Add(b)
	}
	nd, _ := loneNode(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		reply, err := nd.Handle(t.Context(), "fuzz", b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Handle error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if _, err := decodeAny(reply); err != nil {
			t.Fatalf("Handle replied with an undecodable message %x: %v", reply, err)
		}
	})
}

// TestQuick: only replica reads and writes of at most maxQuick bytes are
// quick; every other message, and anything malformed, is not.
func TestQuick(t *testing.T) {
	for typ, m := range seedMessages(t) {
		if want := typ == mWrite || typ == mRead; Quick(m) != want {
			t.Errorf("Quick(%v) = %v, want %v", typ, !want, want)
		}
	}
	big := must(encodeWrite(nil, store.Entry{Key: "k", Value: make([]byte, maxQuick), Version: ver(1)}))
	if Quick(big) {
		t.Errorf("Quick of a %d-byte write = true", len(big))
	}
	w := must(encodeWrite(nil, e1))
	w[0]++
	for _, m := range [][]byte{nil, {wireVersion}, w} {
		if Quick(m) {
			t.Errorf("Quick(%x) = true", m)
		}
	}
}

// roundTrip fails unless the body of request b, decoded, encoded and
// decoded again, gives the same value.
func roundTrip[T any](t *testing.T, typ msgType, b []byte, dec func(reader) (T, error), enc func([]byte, T) []byte, opts ...cmp.Option) {
	t.Helper()
	_, r, _ := header(b)
	v, _ := dec(r)
	_, r2, _ := header(enc(nil, v))
	v2, err := dec(r2)
	if diff := cmp.Diff(v, v2, opts...); err != nil || diff != "" {
		t.Fatalf("%s round trip %v mismatch (-want +got):\n%s", typ, err, diff)
	}
}

// loneNode starts node "a", alone in its ring, on a store of its own;
// both are closed when the test ends.
func loneNode(tb testing.TB) (*Node, *store.Store) {
	st, err := store.New(&store.Config{SweepInterval: -1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	nd, err := New(Config{ID: "a", Store: st, Network: newFakeNet(), AntiEntropyInterval: -1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { nd.Close() })
	nd.SetRing(newRing(tb, []string{"a"}))
	return nd, st
}
