package lambdax

import (
	"io"
	"log/slog"
	"strings"
)

// NewLogger returns the runtime binaries' logger: JSON lines on w, which
// CloudWatch Logs Insights and journald both index by field. level is
// debug, info (the default for anything else), warn or error, as in the
// LOG_LEVEL environment variable.
func NewLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(strings.TrimSpace(level)) {
	case "debug":
		l = slog.LevelDebug
	case "warn", "warning":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
