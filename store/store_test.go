package store

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gridkv/gridkv/hlc"
	"github.com/zeebo/xxh3"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func v(ms int64, node NodeID) Version { return Version{Time: hlc.New(ms, 0), Node: node} }

// manualClock is an injected clock in Unix milliseconds.
type manualClock struct{ ms atomic.Int64 }

func (c *manualClock) Now() int64       { return c.ms.Load() }
func (c *manualClock) Advance(ms int64) { c.ms.Add(ms) }
func newClock(start int64) *manualClock { c := &manualClock{}; c.ms.Store(start); return c }
func (c *manualClock) String() string   { return fmt.Sprint(c.ms.Load()) }
func valueFor(key string, n int) []byte { return fmt.Appendf(nil, "%s=%d", key, n) }
func keyOfValue(val []byte) (string, bool) {
	k, _, ok := bytes.Cut(val, []byte("="))
	return string(k), ok
}
func mustApply(t testing.TB, s *Store, e Entry) bool {
	t.Helper()
	ok, err := s.Apply(e)
	if err != nil {
		t.Fatalf("Apply(%q): %v", e.Key, err)
	}
	return ok
}

// fixedBytes is what an empty store with cfg's DigestBits is charged.
func fixedBytes(t testing.TB, cfg Config) int64 {
	cfg.MaxBytes, cfg.SweepInterval = 0, -1
	s, err := New(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return s.Stats().FixedBytes
}

// newTest returns a store without background sweeper (tests call Sweep),
// on a manual clock unless cfg sets one.
func newTest(t testing.TB, cfg *Config) *Store {
	t.Helper()
	if cfg == nil {
		cfg = &Config{}
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = -1
	}
	if cfg.Now == nil {
		cfg.Now = newClock(1_000_000).Now
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestApplyLWW(t *testing.T) {
	const now = 1_000_000
	type want struct {
		applied   bool
		value     string // "" with ok=false: missing
		ok        bool
		version   Version
		tombstone bool // as Read reports it
	}
	tests := []struct {
		name  string
		prior []Entry
		apply Entry
		want  want
	}{
		{"first write", nil,
			Entry{Key: "k", Value: []byte("a"), Version: v(10, 1)},
			want{true, "a", true, v(10, 1), false}},
		{"newer timestamp wins", []Entry{{Key: "k", Value: []byte("a"), Version: v(10, 1)}},
			Entry{Key: "k", Value: []byte("b"), Version: v(11, 1)},
			want{true, "b", true, v(11, 1), false}},
		{"older timestamp loses", []Entry{{Key: "k", Value: []byte("a"), Version: v(10, 1)}},
			Entry{Key: "k", Value: []byte("b"), Version: v(9, 9)},
			want{false, "a", true, v(10, 1), false}},
		{"logical counter orders equal wall times", []Entry{{Key: "k", Value: []byte("a"), Version: Version{hlc.New(10, 1), 1}}},
			Entry{Key: "k", Value: []byte("b"), Version: Version{hlc.New(10, 2), 1}},
			want{true, "b", true, Version{hlc.New(10, 2), 1}, false}},
		{"equal timestamp, higher node wins", []Entry{{Key: "k", Value: []byte("a"), Version: v(10, 1)}},
			Entry{Key: "k", Value: []byte("b"), Version: v(10, 2)},
			want{true, "b", true, v(10, 2), false}},
		{"equal timestamp, lower node loses", []Entry{{Key: "k", Value: []byte("a"), Version: v(10, 2)}},
			Entry{Key: "k", Value: []byte("b"), Version: v(10, 1)},
			want{false, "a", true, v(10, 2), false}},
		{"equal version is a replay, not applied", []Entry{{Key: "k", Value: []byte("a"), Version: v(10, 1)}},
			Entry{Key: "k", Value: []byte("a"), Version: v(10, 1)},
			want{false, "a", true, v(10, 1), false}},
		{"newer tombstone hides value", []Entry{{Key: "k", Value: []byte("a"), Version: v(10, 1)}},
			Entry{Key: "k", Version: v(11, 1), Tombstone: true},
			want{true, "", false, v(11, 1), true}},
		{"older tombstone loses", []Entry{{Key: "k", Value: []byte("a"), Version: v(10, 1)}},
			Entry{Key: "k", Version: v(9, 1), Tombstone: true},
			want{false, "a", true, v(10, 1), false}},
		{"tombstone tie broken by node", []Entry{{Key: "k", Value: []byte("a"), Version: v(10, 1)}},
			Entry{Key: "k", Version: v(10, 2), Tombstone: true},
			want{true, "", false, v(10, 2), true}},
		{"newer value over tombstone", []Entry{{Key: "k", Version: v(10, 1), Tombstone: true}},
			Entry{Key: "k", Value: []byte("b"), Version: v(11, 1)},
			want{true, "b", true, v(11, 1), false}},
		{"older value under tombstone", []Entry{{Key: "k", Version: v(10, 1), Tombstone: true}},
			Entry{Key: "k", Value: []byte("b"), Version: v(9, 1)},
			want{false, "", false, v(10, 1), true}},
		{"tombstone on a missing key is kept", nil,
			Entry{Key: "k", Version: v(10, 1), Tombstone: true},
			want{true, "", false, v(10, 1), true}},
		{"expired newer value still beats an older write", []Entry{{Key: "k", Value: []byte("a"), Version: v(10, 1), Expires: now - 1}},
			Entry{Key: "k", Value: []byte("b"), Version: v(9, 1)},
			want{false, "", false, v(10, 1), true}},
		{"newer write replaces an expired value", []Entry{{Key: "k", Value: []byte("a"), Version: v(10, 1), Expires: now - 1}},
			Entry{Key: "k", Value: []byte("b"), Version: v(11, 1)},
			want{true, "b", true, v(11, 1), false}},
		{"live value with future expiry reads", nil,
			Entry{Key: "k", Value: []byte("a"), Version: v(10, 1), Expires: now + 1},
			want{true, "a", true, v(10, 1), false}},
		{"expiry at now is expired", nil,
			Entry{Key: "k", Value: []byte("a"), Version: v(10, 1), Expires: now},
			want{true, "", false, v(10, 1), true}},
		{"already expired newer write still supersedes", []Entry{{Key: "k", Value: []byte("a"), Version: v(10, 1)}},
			Entry{Key: "k", Value: []byte("b"), Version: v(11, 1), Expires: now - 5},
			want{true, "", false, v(11, 1), true}},
		{"empty value is a value", nil,
			Entry{Key: "k", Value: nil, Version: v(10, 1)},
			want{true, "", true, v(10, 1), false}},
		{"empty key is a key", nil,
			Entry{Key: "", Value: []byte("e"), Version: v(10, 1)},
			want{true, "e", true, v(10, 1), false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTest(t, &Config{Now: newClock(now).Now})
			for _, e := range tc.prior {
				mustApply(t, s, e)
			}
			if got := mustApply(t, s, tc.apply); got != tc.want.applied {
				t.Errorf("applied = %v, want %v", got, tc.want.applied)
			}
			key := tc.apply.Key
			got, ok := s.Get(key)
			if ok != tc.want.ok || string(got) != tc.want.value {
				t.Errorf("Get = %q, %v; want %q, %v", got, ok, tc.want.value, tc.want.ok)
			}
			e, ok := s.Read(key)
			if !ok || e.Version != tc.want.version || e.Tombstone != tc.want.tombstone {
				t.Errorf("Read = %+v, %v; want version %v tombstone %v", e, ok, tc.want.version, tc.want.tombstone)
			}
			if e.Tombstone && e.Value != nil {
				t.Errorf("tombstone Read carries value %q", e.Value)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	s := newTest(t, &Config{MaxKeySize: 8, MaxValueSize: 16})
	tests := []struct {
		name string
		e    Entry
		want error
	}{
		{"key too large", Entry{Key: strings.Repeat("k", 9), Value: []byte("v"), Version: v(1, 1)}, ErrKeyTooLarge},
		{"value too large", Entry{Key: "k", Value: make([]byte, 17), Version: v(1, 1)}, ErrValueTooLarge},
		{"zero version", Entry{Key: "k", Value: []byte("v")}, ErrZeroVersion},
		{"zero timestamp with node", Entry{Key: "k", Value: []byte("v"), Version: Version{Node: 3}}, ErrZeroVersion},
		{"tombstone with value", Entry{Key: "k", Value: []byte("v"), Version: v(1, 1), Tombstone: true}, ErrInvalidEntry},
		{"negative expiry", Entry{Key: "k", Value: []byte("v"), Version: v(1, 1), Expires: -1}, ErrInvalidEntry},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := s.Apply(tc.e)
			if !errors.Is(err, tc.want) || ok {
				t.Fatalf("Apply = %v, %v; want %v", ok, err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "store: ") {
				t.Errorf("error %q does not start with the package name", err)
			}
		})
	}
	if st := s.Stats(); st.Keys != 0 || st.Tombstones != 0 || st.Bytes != st.FixedBytes {
		t.Fatalf("bad input stored something: %+v", st)
	}
	// At the limits exactly: accepted.
	if _, err := s.Apply(Entry{Key: "12345678", Value: make([]byte, 16), Version: v(1, 1)}); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidation(t *testing.T) {
	bad := []Config{
		{MaxBytes: -1}, {MaxKeySize: -1}, {MaxKeySize: MaxKeySizeLimit + 1},
		{MaxValueSize: MaxValueSizeLimit + 1}, {TombstoneGrace: -1}, {SweepBatch: -1},
		{DigestBits: 7}, {DigestBits: 25}, {MaxBytes: 1000},
	}
	for _, c := range bad {
		if _, err := New(&c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
	s, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.cfg.MaxKeySize != DefaultMaxKeySize || s.cfg.DigestBits != DefaultDigestBits {
		t.Fatalf("defaults not applied: %+v", s.cfg)
	}
}

func TestClosed(t *testing.T) {
	s, err := New(&Config{SweepInterval: 1}) // a running sweeper must stop
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, Entry{Key: "k", Value: []byte("v"), Version: v(1, 1)})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := s.Set("k", []byte("w"), v(2, 1), 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Set after Close: %v", err)
	}
	if got, ok := s.View("k"); !ok || string(got) != "v" {
		t.Fatalf("read after Close = %q, %v", got, ok)
	}
	goleak.VerifyNone(t)
}

func TestValueOwnership(t *testing.T) {
	s := newTest(t, nil)
	buf := []byte("hello")
	mustApply(t, s, Entry{Key: "k", Value: buf, Version: v(1, 1)})
	copy(buf, "XXXXX") // the caller may reuse its buffer
	view, _ := s.View("k")
	got, _ := s.Get("k")
	if string(view) != "hello" || string(got) != "hello" {
		t.Fatalf("store shares the caller's buffer: %q %q", view, got)
	}
	got[0] = 'J' // Get returns a private copy
	_ = append(view, '!')
	mustApply(t, s, Entry{Key: "k", Value: []byte("world"), Version: v(2, 1)})
	if string(view) != "hello" {
		t.Fatalf("a later write changed a view: %q", view)
	}
	if cap(view) != len(view) {
		t.Fatalf("view has spare capacity %d: appends would write into the store", cap(view))
	}
	if now, _ := s.View("k"); string(now) != "world" {
		t.Fatalf("View = %q", now)
	}
}

func TestViewDoesNotAllocate(t *testing.T) {
	s := newTest(t, nil)
	mustApply(t, s, Entry{Key: "k", Value: []byte("v"), Version: v(1, 1)})
	if n := testing.AllocsPerRun(100, func() { s.View("k") }); n != 0 {
		t.Fatalf("View allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { s.Read("k") }); n != 0 {
		t.Fatalf("Read allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { s.Set("k", []byte("w"), v(5, 1), 0) }); n > 1 {
		t.Fatalf("Set allocates %v times", n)
	}
}

func TestSizeClass(t *testing.T) {
	// Against a linear scan of the class table, and the real allocator's
	// rounding (append grows capacity to the size class).
	for n := 1; n <= 40000; n++ {
		want := 0
		for _, c := range goSizeClasses {
			if int(c) >= n {
				want = int(c)
				break
			}
		}
		if want == 0 {
			want = (n + 8191) &^ 8191
		}
		if got := sizeClass(n); got != want {
			t.Fatalf("sizeClass(%d) = %d, want %d", n, got, want)
		}
		if n <= 32768 && (n <= 1024 || n == want || n == want+1) { // all small sizes, then class edges
			if c := cap(append([]byte(nil), make([]byte, n)...)); c != want {
				t.Fatalf("allocator rounds %d to %d, table says %d", n, c, want)
			}
		}
	}
}

// TestKeyHashIsXXH3: ring.KeyHash is xxh3 of the key; ranges only mean the
// same keys in both packages if this holds.
func TestKeyHashIsXXH3(t *testing.T) {
	for _, k := range []string{"", "k", "user:42", strings.Repeat("x", 300)} {
		if got, want := KeyHash(k), xxh3.HashString(k); got != want {
			t.Fatalf("KeyHash(%q) = %#x, want xxh3 %#x", k, got, want)
		}
	}
	if got := KeyHash("user:42"); got != xxh3.Hash([]byte("user:42")) {
		t.Fatalf("KeyHash differs from xxh3 over bytes: %#x", got)
	}
}

// TestStatsCountKinds: Stats.Keys and Stats.Tombstones follow each
// overwrite, of the same kind or not.
func TestStatsCountKinds(t *testing.T) {
	s := newTest(t, nil) // clock at 1_000_000 ms
	steps := []struct {
		name        string
		e           Entry
		keys, tombs int64
	}{
		{"value", Entry{Key: "k", Value: []byte("a"), Version: v(1, 1)}, 1, 0},
		{"value over value", Entry{Key: "k", Value: []byte("b"), Version: v(2, 1)}, 1, 0},
		{"tombstone over value", Entry{Key: "k", Version: v(3, 1), Tombstone: true}, 0, 1},
		{"tombstone over tombstone", Entry{Key: "k", Version: v(4, 1), Tombstone: true}, 0, 1},
		{"value over tombstone", Entry{Key: "k", Value: []byte("c"), Version: v(5, 1)}, 1, 0},
		{"expired value over value", Entry{Key: "k", Value: []byte("d"), Version: v(6, 1), Expires: 1}, 0, 1},
		{"second key", Entry{Key: "j", Value: []byte("e"), Version: v(7, 1)}, 1, 1},
	}
	for _, st := range steps {
		if ok, err := s.Apply(st.e); !ok || err != nil {
			t.Fatalf("%s: Apply = %v, %v", st.name, ok, err)
		}
		if got := s.Stats(); got.Keys != st.keys || got.Tombstones != st.tombs {
			t.Fatalf("%s: %d keys, %d tombstones; want %d, %d", st.name, got.Keys, got.Tombstones, st.keys, st.tombs)
		}
	}
}
