package server_test

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net/http"
	"strings"
	"testing"

	"github.com/gridkv/gridkv/gridkv"
	"github.com/gridkv/gridkv/gridkv/server"
)

// localFake is a fakeKV that also reports local versions: every key it
// holds has version (HLC 7, node 3).
type localFake struct{ *fakeKV }

func (f localFake) LocalVersions(keys []string) []gridkv.LocalEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]gridkv.LocalEntry, len(keys))
	for i, k := range keys {
		out[i] = gridkv.LocalEntry{Key: k}
		if it, ok := f.items[k]; ok {
			out[i] = gridkv.LocalEntry{Key: k, Found: true, HLC: 7, Node: 3, Len: len(it.Value),
				CRC32C: crc32.Checksum(it.Value, crc32.MakeTable(crc32.Castagnoli)), Replica: true}
		}
	}
	return out
}

func TestHTTPLocalVersions(t *testing.T) {
	kv := localFake{newFakeKV()}
	c := newHTTP(t, kv, server.Config{Token: "t0ken"})
	if code, _ := c.do("PUT", "/v1/keys/a", "hello"); code != http.StatusNoContent {
		t.Fatalf("PUT a: %d", code)
	}

	code, body := c.do("POST", "/v1/local/versions", `{"keys":["a","b"]}`)
	if code != http.StatusOK {
		t.Fatalf("POST /v1/local/versions: %d %s", code, body)
	}
	var resp server.LocalVersionsResponse
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatal(err)
	}
	want := crc32.Checksum([]byte("hello"), crc32.MakeTable(crc32.Castagnoli))
	if len(resp.Entries) != 2 ||
		resp.Entries[0] != (gridkv.LocalEntry{Key: "a", Found: true, HLC: 7, Node: 3, Len: 5, CRC32C: want, Replica: true}) ||
		resp.Entries[1] != (gridkv.LocalEntry{Key: "b"}) {
		t.Fatalf("entries = %+v (body %s)", resp.Entries, body)
	}

	// Empty list: empty answer.
	if code, body := c.do("POST", "/v1/local/versions", `{"keys":[]}`); code != http.StatusOK || !strings.Contains(body, `"entries":[]`) {
		t.Fatalf("empty list: %d %s", code, body)
	}

	// Limits and bad input.
	many := make([]string, server.MaxLocalVersionKeys+1)
	for i := range many {
		many[i] = fmt.Sprint("k", i)
	}
	b, _ := json.Marshal(server.LocalVersionsRequest{Keys: many})
	for _, tc := range []struct {
		name, body string
		code       int
	}{
		{"too many keys", string(b), http.StatusBadRequest},
		{"body too large", `{"keys":["` + strings.Repeat("x", server.MaxLocalVersionBody) + `"]}`, http.StatusRequestEntityTooLarge},
		{"bad JSON", `{"keys":`, http.StatusBadRequest},
		{"not a list", `{"keys":"a"}`, http.StatusBadRequest},
		{"unknown field", `{"keys":[],"x":1}`, http.StatusBadRequest},
		{"trailing data", `{"keys":[]} {}`, http.StatusBadRequest},
	} {
		if code, body := c.do("POST", "/v1/local/versions", tc.body); code != tc.code {
			t.Errorf("%s: %d %.200s, want %d", tc.name, code, body, tc.code)
		}
	}

	// The token guards it like the rest of /v1.
	c.token = ""
	if code, _ := c.do("POST", "/v1/local/versions", `{"keys":["a"]}`); code != http.StatusUnauthorized {
		t.Fatalf("without token: %d, want 401", code)
	}
	c.token = "wrong"
	if code, _ := c.do("POST", "/v1/local/versions", `{"keys":["a"]}`); code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d, want 401", code)
	}
	// GET is not routed.
	c.token = "t0ken"
	if code, _ := c.do("GET", "/v1/local/versions", ""); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d, want 405", code)
	}
}

// A KV without LocalVersions answers 501.
func TestHTTPLocalVersionsUnsupported(t *testing.T) {
	c := newHTTP(t, newFakeKV(), server.Config{})
	if code, body := c.do("POST", "/v1/local/versions", `{"keys":["a"]}`); code != http.StatusNotImplemented {
		t.Fatalf("%d %s, want 501", code, body)
	}
}
