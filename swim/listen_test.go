package swim

import (
	"errors"
	"testing"

	"github.com/hashicorp/memberlist"
)

// TestListenRetriesPortZero: with port 0, a UDP port clash (TCP picked a
// port whose UDP twin is taken) is tried again; with a fixed port it is
// reported at once.
func TestListenRetriesPortZero(t *testing.T) {
	orig := newNetTransport
	t.Cleanup(func() { newNetTransport = orig })
	clash := errors.New("listen udp: bind: address already in use")
	calls := 0
	newNetTransport = func(c *memberlist.NetTransportConfig) (*memberlist.NetTransport, error) {
		calls++
		if calls < 3 {
			return nil, clash
		}
		return orig(c)
	}
	nt, err := listen("127.0.0.1", 0, nil)
	if err != nil {
		t.Fatalf("port 0: %v after %d attempts", err, calls)
	}
	nt.Shutdown()
	if calls != 3 {
		t.Errorf("port 0: %d attempts, want 3", calls)
	}

	calls = 0
	newNetTransport = func(*memberlist.NetTransportConfig) (*memberlist.NetTransport, error) {
		calls++
		return nil, clash
	}
	if _, err := listen("127.0.0.1", 7946, nil); !errors.Is(err, clash) || calls != 1 {
		t.Errorf("fixed port: err %v after %d attempts, want the clash after 1", err, calls)
	}
	calls = 0
	if _, err := listen("127.0.0.1", 0, nil); !errors.Is(err, clash) || calls != listenAttempts {
		t.Errorf("port 0, always taken: err %v after %d attempts, want the clash after %d", err, calls, listenAttempts)
	}
}
