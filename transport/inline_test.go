package transport

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// inlineI serves requests that start with 'i' inline (Config.Inline).
func inlineI(req []byte) bool { return len(req) > 0 && req[0] == 'i' }

// TestInlineRepliesFlushed writes, in one stream write, inline requests
// around one whose handler blocks: the replies to the inline requests
// before it must be written before the reading is handed over, and the
// ones after it are served while it still blocks.
func TestInlineRepliesFlushed(t *testing.T) {
	release := make(chan struct{})
	srv := newTestTransport(t, func(ctx context.Context, _ Peer, req []byte) ([]byte, error) {
		if string(req) == "block" {
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return append([]byte("re:"), req...), nil
	}, &Config{Inline: inlineI})
	_, s := rawStream(t, srv)

	// The blocking request comes last in the first write: the replies
	// queued before it are written only if the reader flushes them before
	// it turns into the blocking handler's goroutine.
	reqs := []string{"i1", "i2", "block", "i3", "i4"}
	write := func(ids ...int) {
		var burst []byte
		for _, id := range ids {
			burst = appendFrame(burst, frameRequest, uint64(id), []byte(reqs[id-1]))
		}
		if _, err := s.Write(burst); err != nil {
			t.Fatal(err)
		}
	}
	fr := newFrameReader(s, 1<<20)
	s.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got []string
	read := func(k int) {
		for range k {
			typ, id, p, err := fr.next()
			if err != nil {
				t.Fatalf("after replies %q: %v", got, err)
			}
			if typ != frameReply || id == 0 || id > uint64(len(reqs)) || string(p) != "re:"+reqs[id-1] {
				t.Fatalf("frame type %d id %d payload %q", typ, id, p)
			}
			got = append(got, string(p))
		}
	}
	write(1, 2, 3)
	read(2)
	write(4, 5)
	read(2)
	if want := []string{"re:i1", "re:i2", "re:i3", "re:i4"}; !slices.Equal(got, want) {
		t.Fatalf("replies %q while the blocking handler runs, want %q", got, want)
	}
	close(release)
	typ, id, p, err := fr.next()
	if err != nil || typ != frameReply || id != 3 || string(p) != "re:block" {
		t.Fatalf("blocked request: type %d id %d %q %v", typ, id, p, err)
	}
}

// TestInlineBurst: many inline requests in one write get every reply,
// matched to its id, and the stream stays usable after a handler error.
func TestInlineBurst(t *testing.T) {
	srv := newTestTransport(t, func(_ context.Context, _ Peer, req []byte) ([]byte, error) {
		if strings.HasSuffix(string(req), "err") {
			return nil, fmt.Errorf("failed %s", req)
		}
		return append([]byte("re:"), req...), nil
	}, &Config{Inline: inlineI})
	_, s := rawStream(t, srv)
	const n = 200
	var burst []byte
	for i := range n {
		req := fmt.Sprintf("i%d", i)
		if i%7 == 0 {
			req += "err"
		}
		burst = appendFrame(burst, frameRequest, uint64(i), []byte(req))
	}
	if _, err := s.Write(burst); err != nil {
		t.Fatal(err)
	}
	fr := newFrameReader(s, 1<<20)
	s.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := range n {
		typ, id, p, err := fr.next()
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		if id != uint64(i) {
			t.Fatalf("reply %d has id %d: inline requests of one stream are served in order", i, id)
		}
		switch {
		case i%7 == 0:
			if typ != frameError || !strings.Contains(string(p), fmt.Sprintf("failed i%derr", i)) {
				t.Fatalf("reply %d: type %d %q, want the handler's error", i, typ, p)
			}
		case typ != frameReply || string(p) != fmt.Sprintf("re:i%d", i):
			t.Fatalf("reply %d: type %d %q", i, typ, p)
		}
	}
}

// TestInlineCallsConcurrent mixes inline and ordinary requests from many
// callers through Call.
func TestInlineCallsConcurrent(t *testing.T) {
	callMesh(t, &Config{Inline: inlineI}, func(g, i int) []byte {
		req := fmt.Appendf(nil, "i%d-%d", g, i)
		if i%3 == 0 {
			req[0] = 'o'
		}
		return req
	})
}
