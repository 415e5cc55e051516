package gridkv

import (
	"context"
	"strings"
)

// NamespaceKey returns the key under which a Namespace named ns stores
// key: ns + ":" + key, the per-user keys of MemQuorum. Names are not
// escaped: namespace "a" key "b:c" and namespace "a:b" key "c" are the
// same key.
func NamespaceKey(ns, key string) string { return ns + ":" + key }

// EscapeGlob escapes the glob metacharacters of s (* ? [ ] \) so that a
// Scan pattern matches s literally.
func EscapeGlob(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Namespace is a view of a GridKV whose keys are prefixed with a name,
// for per-user or per-tenant keys. It is cheap: create one per request
// if convenient.
type Namespace struct {
	g      *GridKV
	prefix string
}

// Namespace returns the view of g for the namespace ns.
func (g *GridKV) Namespace(ns string) *Namespace {
	return &Namespace{g: g, prefix: NamespaceKey(ns, "")}
}

// Set is GridKV.Set in the namespace.
func (n *Namespace) Set(ctx context.Context, key string, value []byte, opts ...Option) error {
	return n.g.Set(ctx, n.prefix+key, value, opts...)
}

// Get is GridKV.Get in the namespace.
func (n *Namespace) Get(ctx context.Context, key string, opts ...Option) ([]byte, error) {
	return n.g.Get(ctx, n.prefix+key, opts...)
}

// GetItem is GridKV.GetItem in the namespace; Item.Key is without the
// prefix.
func (n *Namespace) GetItem(ctx context.Context, key string, opts ...Option) (Item, error) {
	it, err := n.g.GetItem(ctx, n.prefix+key, opts...)
	it.Key = strings.TrimPrefix(it.Key, n.prefix)
	return it, err
}

// Delete is GridKV.Delete in the namespace.
func (n *Namespace) Delete(ctx context.Context, key string, opts ...Option) error {
	return n.g.Delete(ctx, n.prefix+key, opts...)
}

// Exists is GridKV.Exists in the namespace.
func (n *Namespace) Exists(ctx context.Context, key string, opts ...Option) (bool, error) {
	return n.g.Exists(ctx, n.prefix+key, opts...)
}

// MGet is GridKV.MGet in the namespace.
func (n *Namespace) MGet(ctx context.Context, keys []string, opts ...Option) ([][]byte, error) {
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = n.prefix + k
	}
	return n.g.MGet(ctx, full, opts...)
}

// MSet is GridKV.MSet in the namespace.
func (n *Namespace) MSet(ctx context.Context, kvs []KV, opts ...Option) error {
	full := make([]KV, len(kvs))
	for i, kv := range kvs {
		full[i] = KV{Key: n.prefix + kv.Key, Value: kv.Value}
	}
	return n.g.MSet(ctx, full, opts...)
}

// Scan is GridKV.Scan over the namespace's keys; pattern applies to the
// keys without the prefix, and the keys returned are without it.
func (n *Namespace) Scan(ctx context.Context, cursor uint64, pattern string, count int) ([]string, uint64, error) {
	if pattern == "" {
		pattern = "*"
	}
	keys, next, err := n.g.Scan(ctx, cursor, EscapeGlob(n.prefix)+pattern, count)
	for i, k := range keys {
		keys[i] = strings.TrimPrefix(k, n.prefix)
	}
	return keys, next, err
}
