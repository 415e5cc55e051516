package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gridkv/gridkv/gridkv/server"
)

// FuzzHTTP sends arbitrary requests (method, path with query, body) to
// the HTTP API: no panic; a JSON answer is well-formed, and a JSON error
// status carries {"error": ...}; a request refused with 4xx stores
// nothing.
func FuzzHTTP(f *testing.F) {
	for _, s := range [][3]string{
		{"GET", "/healthz", ""},
		{"GET", "/readyz", ""},
		{"GET", "/metrics", ""},
		{"GET", "/v1/cluster", ""},
		{"PUT", "/v1/keys/k?ttl=30s", "v"},
		{"PUT", "/v1/keys/k?ttl=-1", "v"},
		{"PUT", "/v1/keys/k?ttl=99999999999999999999", "v"},
		{"GET", "/v1/keys/k", ""},
		{"DELETE", "/v1/keys/k", ""},
		{"PUT", "/v1/keys/" + strings.Repeat("k", 5000), "v"},
		{"POST", "/v1/local/versions", `{"keys":["a"]}`},
		{"POST", "/api/v1/memory/set", `{"userId":"u","key":"k","value":"v","ttlSeconds":5}`},
		{"POST", "/api/v1/memory/set", `{"userId":"u","key":"k","value":"v"} trailing`},
		{"POST", "/api/v1/memory/get", `{"userId":"u","key":"k"}`},
		{"POST", "/api/v1/memory/delete", `{"userId":"u","key":"k"}`},
		{"POST", "/api/v1/memory/list", `{"userId":"u","pattern":"[a-"}`},
		{"POST", "/api/v1/memory/list", `{"userId":"u","pattern":"\\"}`},
		{"POST", "/api/v1/memory/set", `{"userId":"u","key":"k","value":"v","ttlSeconds":-5}`},
		{"POST", "/api/v1/memory/set", `{"userId":` + strings.Repeat("[", 10000)},
		{"GET", "/api/v1/memory/health", ""},
		{"GET", "/api/v1/memory/shards", ""},
		{"GET", "/../v1/keys/%2e%2e", ""},
		{"PATCH", "/v1/keys/k", "v"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		req, err := http.NewRequest(method, "http://gridkv.test"+target, strings.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		kv := newFakeKV()
		h := server.NewHTTP(kv, server.Config{MaxRequestBytes: 1 << 16})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		code := rec.Code
		if code < 200 || code > 599 {
			t.Fatalf("%s %s: status %d", method, target, code)
		}
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			var v map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
				t.Fatalf("%s %s: status %d, JSON body %q: %v", method, target, code, rec.Body.String(), err)
			}
			if code >= 400 && code != http.StatusServiceUnavailable && v["error"] == nil {
				t.Fatalf("%s %s: status %d without an error: %q", method, target, code, rec.Body.String())
			}
		}
		if code >= 400 && code < 500 {
			kv.mu.Lock()
			n := len(kv.items)
			kv.mu.Unlock()
			if n != 0 {
				t.Fatalf("%s %s: status %d, yet %d keys stored", method, target, code, n)
			}
		}
	})
}
