package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gridkv/gridkv/gridkv/server"
)

type httpClient struct {
	t     *testing.T
	srv   *httptest.Server
	token string
}

func newHTTP(t *testing.T, kv server.KV, cfg server.Config) *httpClient {
	srv := httptest.NewServer(server.NewHTTP(kv, cfg))
	t.Cleanup(srv.Close)
	return &httpClient{t: t, srv: srv, token: cfg.Token}
}

// do sends a request and returns the status and body.
func (c *httpClient) do(method, path, body string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// jsonOf decodes a JSON body.
func jsonOf(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", body, err)
	}
	return m
}

func TestHTTPKeysAndMemoryAPI(t *testing.T) {
	c := newHTTP(t, newFakeKV(), server.Config{})
	check := func(method, path, body string, wantCode int, wantBody string) {
		t.Helper()
		code, got := c.do(method, path, body)
		if code != wantCode {
			t.Errorf("%s %s: status %d (%s), want %d", method, path, code, got, wantCode)
		}
		if wantBody != "" && strings.TrimSpace(got) != wantBody {
			t.Errorf("%s %s: body %q, want %q", method, path, got, wantBody)
		}
	}
	check("GET", "/healthz", "", 200, `{"status":"ok"}`)
	check("GET", "/readyz", "", 200, `{"status":"ready"}`)
	check("PUT", "/v1/keys/k1", "hello", 204, "")
	check("GET", "/v1/keys/k1", "", 200, "hello")
	check("PUT", "/v1/keys/k2?ttl=30s", "x", 204, "")
	check("PUT", "/v1/keys/k2?ttl=30", "x", 204, "")
	check("PUT", "/v1/keys/k2?ttl=soon", "x", 400, "")
	check("DELETE", "/v1/keys/k1", "", 204, "")
	check("GET", "/v1/keys/k1", "", 404, "")
	check("PUT", "/v1/keys/big", strings.Repeat("v", 1<<20+1), 413, "")
	check("PUT", "/v1/keys/"+strings.Repeat("k", 5000), "v", 413, "")
	check("GET", "/v1/keys/big", "", 404, "") // nothing stored
	// The TTL of a PUT shows in the X-Gridkv-Ttl-Ms of a GET.
	resp, err := c.srv.Client().Get(c.srv.URL + "/v1/keys/k2")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ms, err := strconv.Atoi(resp.Header.Get("X-Gridkv-Ttl-Ms")); err != nil || ms <= 0 || ms > 30000 {
		t.Errorf("GET of a key PUT with ttl=30: X-Gridkv-Ttl-Ms %q", resp.Header.Get("X-Gridkv-Ttl-Ms"))
	}
	check("PUT", "/v1/keys/k2", "x", 204, "")
	resp, err = c.srv.Client().Get(c.srv.URL + "/v1/keys/k2")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := resp.Header.Get("X-Gridkv-Ttl-Ms"); h != "" {
		t.Errorf("GET of a key PUT without ttl: X-Gridkv-Ttl-Ms %q", h)
	}

	check("POST", "/api/v1/memory/set", `{"userId":"u42","key":"name","value":"Ada"}`, 200, `{"message":"Value set successfully","success":true}`)
	check("POST", "/api/v1/memory/set", `{"userId":"u42","key":"lang","value":"Go"}`, 200, "")
	check("POST", "/api/v1/memory/get", `{"userId":"u42","key":"name"}`, 200, `{"found":true,"value":"Ada"}`)
	check("POST", "/api/v1/memory/get", `{"userId":"u7","key":"name"}`, 200, `{"found":false}`)
	check("GET", "/v1/keys/u42:name", "", 200, "Ada") // the namespace layout
	check("POST", "/api/v1/memory/list", `{"userId":"u42"}`, 200, `{"keys":["lang","name"]}`)
	check("POST", "/api/v1/memory/list", `{"userId":"u42","pattern":"n*"}`, 200, `{"keys":["name"]}`)
	check("POST", "/api/v1/memory/delete", `{"userId":"u42","key":"name"}`, 200, `{"success":true}`)
	check("POST", "/api/v1/memory/get", `{"userId":"u42","key":"name"}`, 200, `{"found":false}`)

	for _, bad := range []string{`{`, `[]`, `{"userId":1}`, `{"key":"k"}`, `{"userId":"u"}`, `{"userId":"u","key":"k","extra":1}`, `{"userId":"u","key":"k"} {}`} {
		code, body := c.do("POST", "/api/v1/memory/set", bad)
		if code != 400 {
			t.Errorf("bad body %s: status %d, want 400", bad, code)
		}
		if m := jsonOf(t, body); m["error"] == nil {
			t.Errorf("bad body %s: no JSON error in %s", bad, body)
		}
	}

	code, body := c.do("GET", "/api/v1/memory/health", "")
	if code != 200 || jsonOf(t, body)["status"] != "healthy" {
		t.Errorf("health: %d %s", code, body)
	}
	code, body = c.do("GET", "/api/v1/memory/shards", "")
	if m := jsonOf(t, body); code != 200 || m["replicationFactor"] != 3.0 {
		t.Errorf("shards: %d %s", code, body)
	}
	code, body = c.do("GET", "/v1/cluster", "")
	if m := jsonOf(t, body); code != 200 || len(m["members"].([]any)) != 1 {
		t.Errorf("cluster: %d %s", code, body)
	}
	code, body = c.do("GET", "/metrics", "")
	if code != 200 || !strings.Contains(body, "fake_keys") {
		t.Errorf("metrics: %d %s", code, body)
	}
}

func TestHTTPToken(t *testing.T) {
	c := newHTTP(t, newFakeKV(), server.Config{Token: "t0ken"})
	if code, _ := c.do("GET", "/v1/keys/x", ""); code != 404 {
		t.Errorf("with token: %d, want 404", code)
	}
	c.token = "wrong"
	if code, _ := c.do("GET", "/v1/keys/x", ""); code != 401 {
		t.Errorf("wrong token: %d, want 401", code)
	}
	c.token = ""
	if code, _ := c.do("GET", "/metrics", ""); code != 401 {
		t.Errorf("no token: %d, want 401", code)
	}
	if code, _ := c.do("GET", "/healthz", ""); code != 200 {
		t.Errorf("healthz without token: %d, want 200", code)
	}
}

// FuzzDecodeMemoryRequest: the decoder never panics, and what it accepts
// re-encodes to an equal request.
func FuzzDecodeMemoryRequest(f *testing.F) {
	for _, s := range []string{
		`{"userId":"u","key":"k","value":"v"}`,
		`{"userId":"u","pattern":"a*"}`,
		`{"userId":"u","key":"k","ttlSeconds":5}`,
		`{"userId":"","key":"k"}`,
		`{"userId":"u","key":"k","ttlSeconds":-1}`,
		`{`, `null`, `[]`, `{"userId":"\u0000"}`,
	} {
		f.Add([]byte(s), "set")
		f.Add([]byte(s), "list")
	}
	f.Fuzz(func(t *testing.T, data []byte, op string) {
		req, err := server.DecodeMemoryRequest(strings.NewReader(string(data)), op)
		if err != nil {
			return
		}
		if req.UserID == "" || (op != "list" && req.Key == "") || req.TTLSeconds < 0 {
			t.Fatalf("accepted an invalid request: %+v", req)
		}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := server.DecodeMemoryRequest(strings.NewReader(string(b)), op)
		if err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", b, err)
		}
		if !reflect.DeepEqual(req, again) {
			t.Fatalf("round trip: %+v != %+v", req, again)
		}
	})
}
