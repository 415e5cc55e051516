package store

import (
	"testing"

	"github.com/gridkv/gridkv/hlc"
)

func v(ms int64, node NodeID) Version { return Version{Time: hlc.New(ms, 0), Node: node} }

func newTest(t testing.TB, cfg *Config) *Store {
	t.Helper()
	if cfg == nil {
		cfg = &Config{}
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = -1
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSmoke(t *testing.T) {
	s := newTest(t, nil)
	if ok, err := s.Set("a", []byte("1"), v(10, 1), 0); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, _ := s.Set("a", []byte("0"), v(9, 1), 0); ok {
		t.Fatal("older applied")
	}
	got, ok := s.Get("a")
	if !ok || string(got) != "1" {
		t.Fatalf("got %q %v", got, ok)
	}
	if ok, _ := s.Delete("a", v(11, 1)); !ok {
		t.Fatal("delete not applied")
	}
	if _, ok := s.Get("a"); ok {
		t.Fatal("tombstone read as value")
	}
	e, ok := s.Read("a")
	if !ok || !e.Tombstone || e.Version != v(11, 1) {
		t.Fatalf("Read = %+v %v", e, ok)
	}
}
