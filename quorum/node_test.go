package quorum

import (
	"errors"
	"testing"
)

func TestSetGetDelete(t *testing.T) {
	c := newCluster(t, 3, Config{})
	ctx := ctxT(t)
	for _, id := range c.ids {
		nd := c.nodes[id]
		key := "k-" + id
		if err := nd.Set(ctx, key, []byte("v-"+id)); err != nil {
			t.Fatalf("Set via %s: %v", id, err)
		}
		for _, id2 := range c.ids {
			got, err := c.nodes[id2].Get(ctx, key)
			if err != nil || string(got) != "v-"+id {
				t.Fatalf("Get %q via %s = %q, %v; want %q", key, id2, got, err, "v-"+id)
			}
		}
		if err := nd.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		for _, id2 := range c.ids {
			if _, err := c.nodes[id2].Get(ctx, key); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get deleted %q via %s: err = %v, want ErrNotFound", key, id2, err)
			}
		}
	}
}
