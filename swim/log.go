package swim

import (
	"bytes"
	"context"
	"log"
	"log/slog"
)

// slogWriter turns memberlist's *log.Logger lines ("[WARN] memberlist: ...")
// into slog records at the matching level. memberlist writes one line per
// call, so no buffering is needed.
type slogWriter struct {
	logger *slog.Logger
}

func newMemberlistLogger(l *slog.Logger) *log.Logger {
	return log.New(slogWriter{logger: l}, "", 0)
}

var levelPrefixes = []struct {
	prefix string
	level  slog.Level
}{
	{"[DEBUG] ", slog.LevelDebug},
	{"[INFO] ", slog.LevelInfo},
	{"[WARN] ", slog.LevelWarn},
	{"[ERR] ", slog.LevelError},
	{"[ERROR] ", slog.LevelError},
}

func (w slogWriter) Write(p []byte) (int, error) {
	n := len(p)
	line := bytes.TrimRight(p, "\r\n")
	level := slog.LevelInfo
	for _, lp := range levelPrefixes {
		if bytes.HasPrefix(line, []byte(lp.prefix)) {
			level = lp.level
			line = line[len(lp.prefix):]
			break
		}
	}
	ctx := context.Background()
	if !w.logger.Enabled(ctx, level) {
		return n, nil
	}
	line = bytes.TrimPrefix(line, []byte("memberlist: "))
	w.logger.Log(ctx, level, string(line))
	return n, nil
}
