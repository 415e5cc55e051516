package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gridkv/gridkv/gridkv"
)

// LocalVersioner is implemented by a KV that can say what its own local
// store holds for keys, without a quorum (*gridkv.GridKV does). The
// endpoint POST /v1/local/versions needs it.
type LocalVersioner interface {
	LocalVersions(keys []string) []gridkv.LocalEntry
}

// Limits of POST /v1/local/versions.
const (
	// MaxLocalVersionKeys is the most keys one request may ask about.
	MaxLocalVersionKeys = gridkv.MaxLocalVersionKeys
	// MaxLocalVersionBody bounds the request body (10,000 keys of up to
	// ~400 bytes each, JSON-quoted).
	MaxLocalVersionBody = 4 << 20
)

// LocalVersionsRequest is the body of POST /v1/local/versions.
type LocalVersionsRequest struct {
	Keys []string `json:"keys"`
}

// LocalVersionsResponse is its answer: one entry per requested key, in
// order, from the answering node's own store.
type LocalVersionsResponse struct {
	Node    string              `json:"node"`
	Entries []gridkv.LocalEntry `json:"entries"`
}

// localVersions serves POST /v1/local/versions: what this node's store
// holds for each key of {"keys": [...]} (found, tombstone, version as HLC
// timestamp and node number, length and CRC-32C of the value, and whether
// the node is a replica of the key in its current ring). It reads local
// memory only: no other node is asked and nothing is repaired. It is a
// checking tool (is every key on exactly N nodes with one version?), so
// it is behind the same token as the rest of /v1. Bodies over
// MaxLocalVersionBody are 413, more than MaxLocalVersionKeys keys or bad
// JSON 400, a KV without LocalVersions 501.
func (h *httpAPI) localVersions(w http.ResponseWriter, r *http.Request) {
	lv, ok := h.kv.(LocalVersioner)
	if !ok {
		writeJSONError(w, http.StatusNotImplemented, "this node cannot report local versions")
		return
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxLocalVersionBody))
	dec.DisallowUnknownFields()
	var req LocalVersionsRequest
	if err := dec.Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSONError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", MaxLocalVersionBody))
			return
		}
		writeJSONError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return
	}
	if dec.More() {
		writeJSONError(w, http.StatusBadRequest, "bad JSON: trailing data after the object")
		return
	}
	if len(req.Keys) > MaxLocalVersionKeys {
		writeJSONError(w, http.StatusBadRequest, fmt.Sprintf("%d keys: at most %d per request", len(req.Keys), MaxLocalVersionKeys))
		return
	}
	writeJSON(w, http.StatusOK, LocalVersionsResponse{Node: h.kv.Stats().NodeID, Entries: lv.LocalVersions(req.Keys)})
}
