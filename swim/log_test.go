package swim

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestMemberlistLogToSlog(t *testing.T) {
	var buf bytes.Buffer
	l := newMemberlistLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	l.Printf("[DEBUG] memberlist: hidden")
	l.Printf("[INFO] memberlist: hello %d", 1)
	l.Printf("[WARN] memberlist: careful")
	l.Printf("[ERR] memberlist: broken")
	l.Printf("no level")
	got := buf.String()
	for _, want := range []string{"level=INFO msg=\"hello 1\"", "level=WARN msg=careful", "level=ERROR msg=broken", "level=INFO msg=\"no level\""} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "hidden") {
		t.Errorf("debug line logged at info level:\n%s", got)
	}
}
