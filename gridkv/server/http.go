package server

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gridkv/gridkv/gridkv"
)

// NewHTTP returns the HTTP API of kv:
//
//	GET  /metrics                 Prometheus text format
//	GET  /healthz                 200 while the process serves
//	GET  /readyz                  200 once the node has joined, 503 before
//	GET  /v1/cluster              members, states, zones, RTTs, ring ownership; node stats
//	GET|PUT|DELETE /v1/keys/{key} the raw value; PUT takes ?ttl=30s (or seconds)
//	POST /api/v1/memory/set|get|delete|list   MemQuorum-compatible JSON API
//	GET  /api/v1/memory/health, /api/v1/memory/shards
//
// Errors are JSON objects {"error": "..."}; bad JSON is 400.
func NewHTTP(kv KV, cfg Config) http.Handler {
	h := &httpAPI{kv: kv, cfg: cfg.withDefaults()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", h.healthz)
	mux.HandleFunc("GET /readyz", h.readyz)
	mux.HandleFunc("GET /metrics", h.auth(h.metrics))
	mux.HandleFunc("GET /v1/cluster", h.auth(h.cluster))
	mux.HandleFunc("GET /v1/keys/{key}", h.auth(h.getKey))
	mux.HandleFunc("PUT /v1/keys/{key}", h.auth(h.putKey))
	mux.HandleFunc("DELETE /v1/keys/{key}", h.auth(h.deleteKey))
	mux.HandleFunc("POST /v1/local/versions", h.auth(h.localVersions))
	mux.HandleFunc("POST /api/v1/memory/set", h.auth(h.memSet))
	mux.HandleFunc("POST /api/v1/memory/get", h.auth(h.memGet))
	mux.HandleFunc("POST /api/v1/memory/delete", h.auth(h.memDelete))
	mux.HandleFunc("POST /api/v1/memory/list", h.auth(h.memList))
	mux.HandleFunc("GET /api/v1/memory/health", h.auth(h.memHealth))
	mux.HandleFunc("GET /api/v1/memory/shards", h.auth(h.memShards))
	return mux
}

type httpAPI struct {
	kv  KV
	cfg Config
}

func (h *httpAPI) auth(next http.HandlerFunc) http.HandlerFunc {
	if h.cfg.Token == "" {
		return next
	}
	want := []byte("Bearer " + h.cfg.Token)
	return func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gridkv"`)
			writeJSONError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		next(w, r)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeJSONError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// errStatus maps a KV error to an HTTP status.
func errStatus(err error) int {
	switch {
	case errors.Is(err, gridkv.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, gridkv.ErrKeyTooLarge), errors.Is(err, gridkv.ErrValueTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, gridkv.ErrQuorumNotMet):
		return http.StatusServiceUnavailable
	case errors.Is(err, gridkv.ErrClosed):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

func writeKVError(w http.ResponseWriter, err error) {
	writeJSONError(w, errStatus(err), err.Error())
}

func (h *httpAPI) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (h *httpAPI) readyz(w http.ResponseWriter, _ *http.Request) {
	if !h.kv.Ready() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (h *httpAPI) metrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	h.kv.WritePrometheus(w)
}

type clusterMember struct {
	gridkv.Member
	RTTMillis float64 `json:"rttMillis"`
	// Ownership is the member's share of the keys in this node's ring;
	// absent for members not in it (left, or failed for longer than
	// DeadMemberTimeout), or if the KV cannot tell.
	Ownership *gridkv.Ownership `json:"ownership,omitempty"`
}

// RingOwner is implemented by a KV that can tell each member's share of
// the keys (*gridkv.GridKV does); GET /v1/cluster then reports it.
type RingOwner interface {
	Ownership() map[string]gridkv.Ownership
}

func (h *httpAPI) cluster(w http.ResponseWriter, _ *http.Request) {
	ms := h.kv.Members()
	var own map[string]gridkv.Ownership
	if ro, ok := h.kv.(RingOwner); ok {
		own = ro.Ownership()
	}
	out := make([]clusterMember, len(ms))
	for i, m := range ms {
		out[i] = clusterMember{Member: m, RTTMillis: float64(m.RTT) / float64(time.Millisecond)}
		if o, ok := own[m.ID]; ok {
			out[i].Ownership = &o
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"node": h.kv.Stats(), "members": out})
}

// parseTTL reads ?ttl= as a Go duration ("30s") or whole seconds ("30").
func parseTTL(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > int64(time.Duration(1<<62)/time.Second) {
			return 0, fmt.Errorf("ttl out of range")
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad ttl %q: want seconds or a duration such as 30s", s)
	}
	return d, nil
}

func (h *httpAPI) getKey(w http.ResponseWriter, r *http.Request) {
	it, err := h.kv.GetItem(r.Context(), r.PathValue("key"))
	if err != nil {
		writeKVError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if !it.ExpiresAt.IsZero() {
		w.Header().Set("X-Gridkv-Ttl-Ms", strconv.FormatInt(it.TTL().Milliseconds(), 10))
	}
	_, _ = w.Write(it.Value)
}

func (h *httpAPI) putKey(w http.ResponseWriter, r *http.Request) {
	ttl, err := parseTTL(r.URL.Query().Get("ttl"))
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(h.cfg.MaxRequestBytes)))
	if err != nil {
		writeJSONError(w, http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	var opts []gridkv.Option
	if ttl > 0 {
		opts = append(opts, gridkv.WithTTL(ttl))
	}
	if err := h.kv.Set(r.Context(), r.PathValue("key"), body, opts...); err != nil {
		writeKVError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *httpAPI) deleteKey(w http.ResponseWriter, r *http.Request) {
	if err := h.kv.Delete(r.Context(), r.PathValue("key")); err != nil {
		writeKVError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// MemoryRequest is the body of the MemQuorum-compatible memory API. Keys
// of user U live under gridkv.NamespaceKey(U, key), the keys of
// g.Namespace(U).
type MemoryRequest struct {
	UserID  string `json:"userId"`
	Key     string `json:"key"`
	Value   string `json:"value"`
	Pattern string `json:"pattern"`
	// TTLSeconds, if positive, makes a set value expire.
	TTLSeconds int64 `json:"ttlSeconds"`
}

// DecodeMemoryRequest decodes and checks a memory API body: a single JSON
// object with a non-empty userId, and a key unless op is "list".
func DecodeMemoryRequest(r io.Reader, op string) (MemoryRequest, error) {
	var req MemoryRequest
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Errorf("bad JSON: %w", err)
	}
	if dec.More() {
		return req, errors.New("bad JSON: trailing data after the object")
	}
	if req.UserID == "" {
		return req, errors.New("userId is required")
	}
	if op != "list" && req.Key == "" {
		return req, errors.New("key is required")
	}
	if req.TTLSeconds < 0 || req.TTLSeconds > int64(time.Duration(1<<62)/time.Second) {
		return req, errors.New("ttlSeconds out of range")
	}
	return req, nil
}

func (h *httpAPI) decodeMemory(w http.ResponseWriter, r *http.Request, op string) (MemoryRequest, bool) {
	req, err := DecodeMemoryRequest(http.MaxBytesReader(w, r.Body, int64(h.cfg.MaxRequestBytes)), op)
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return req, false
	}
	return req, true
}

func (h *httpAPI) memSet(w http.ResponseWriter, r *http.Request) {
	req, ok := h.decodeMemory(w, r, "set")
	if !ok {
		return
	}
	var opts []gridkv.Option
	if req.TTLSeconds > 0 {
		opts = append(opts, gridkv.WithTTL(time.Duration(req.TTLSeconds)*time.Second))
	}
	if err := h.kv.Set(r.Context(), gridkv.NamespaceKey(req.UserID, req.Key), []byte(req.Value), opts...); err != nil {
		writeKVError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "message": "Value set successfully"})
}

func (h *httpAPI) memGet(w http.ResponseWriter, r *http.Request) {
	req, ok := h.decodeMemory(w, r, "get")
	if !ok {
		return
	}
	it, err := h.kv.GetItem(r.Context(), gridkv.NamespaceKey(req.UserID, req.Key))
	switch {
	case errors.Is(err, gridkv.ErrNotFound):
		writeJSON(w, http.StatusOK, map[string]any{"found": false})
	case err != nil:
		writeKVError(w, err)
	default:
		writeJSON(w, http.StatusOK, map[string]any{"found": true, "value": string(it.Value)})
	}
}

func (h *httpAPI) memDelete(w http.ResponseWriter, r *http.Request) {
	req, ok := h.decodeMemory(w, r, "delete")
	if !ok {
		return
	}
	if err := h.kv.Delete(r.Context(), gridkv.NamespaceKey(req.UserID, req.Key)); err != nil {
		writeKVError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true})
}

// memList lists a user's keys (without the user prefix) matching pattern
// (a Redis glob, default "*"), walking the whole cluster scan.
func (h *httpAPI) memList(w http.ResponseWriter, r *http.Request) {
	req, ok := h.decodeMemory(w, r, "list")
	if !ok {
		return
	}
	pattern := req.Pattern
	if pattern == "" {
		pattern = "*"
	}
	prefix := gridkv.NamespaceKey(req.UserID, "")
	match := gridkv.EscapeGlob(prefix) + pattern
	keys := []string{}
	var cursor uint64
	for {
		page, next, err := h.kv.Scan(r.Context(), cursor, match, 1000)
		if err != nil {
			writeKVError(w, err)
			return
		}
		for _, k := range page {
			keys = append(keys, strings.TrimPrefix(k, prefix))
		}
		if next == 0 {
			break
		}
		cursor = next
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

func (h *httpAPI) memHealth(w http.ResponseWriter, _ *http.Request) {
	status, code := "healthy", http.StatusOK
	if !h.kv.Ready() {
		status, code = "unhealthy", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{
		"status":    status,
		"service":   "gridkv",
		"node":      h.kv.Stats().NodeID,
		"timestamp": time.Now().UnixMilli(),
	})
}

// memShards describes placement. GridKV has no fixed shards: keys are
// placed on a consistent-hash ring, so it reports the ring's members and
// the replication settings.
func (h *httpAPI) memShards(w http.ResponseWriter, _ *http.Request) {
	st := h.kv.Stats()
	var nodes []string
	for _, m := range h.kv.Members() {
		if m.State == "alive" || m.State == "suspect" {
			nodes = append(nodes, m.ID)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"placement":         "consistent-hash ring",
		"nodes":             nodes,
		"totalNodes":        len(nodes),
		"replicationFactor": st.ReplicaCount,
		"writeQuorum":       st.WriteQuorum,
		"readQuorum":        st.ReadQuorum,
		"timestamp":         time.Now().UnixMilli(),
	})
}
