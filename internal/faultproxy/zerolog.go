package faultproxy

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"

	"github.com/rs/zerolog"
)

// newZerolog returns the zerolog.Logger handed to toxiproxy: each event is
// re-emitted on log. toxiproxy logs every accepted connection and every
// connection end at Info or Warn, which is noise in a benchmark: its lines
// become Debug, and only its Error and above become Warn. When log does not
// want Debug, the zerolog logger filters at Error so the per-connection lines
// are not even formatted.
func newZerolog(ctx context.Context, log *slog.Logger) zerolog.Logger {
	level := zerolog.ErrorLevel
	if log.Enabled(ctx, slog.LevelDebug) {
		level = zerolog.DebugLevel
	}
	return zerolog.New(slogWriter{log: log.With("lib", "toxiproxy")}).Level(level)
}

// upstreamRefused is toxiproxy's error line for a connection whose upstream refused it: one
// per client connection while Redis (or a cluster node) is killed, so it stays at Debug.
const upstreamRefused = "Unable to open connection to upstream"

// slogWriter is a zerolog.LevelWriter that decodes zerolog's JSON events and
// writes them to a slog.Logger.
type slogWriter struct{ log *slog.Logger }

// Write handles an event without a level.
func (w slogWriter) Write(p []byte) (int, error) { return w.WriteLevel(zerolog.NoLevel, p) }

// WriteLevel re-emits one JSON event on the slog.Logger.
func (w slogWriter) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	level := slog.LevelDebug
	if l >= zerolog.ErrorLevel && l < zerolog.NoLevel {
		level = slog.LevelWarn
	}
	var fields map[string]any
	if err := json.Unmarshal(p, &fields); err != nil {
		w.log.Log(context.Background(), level, strings.TrimSpace(string(p)))
		return len(p), nil
	}
	msg, _ := fields[zerolog.MessageFieldName].(string)
	if msg == upstreamRefused {
		level = slog.LevelDebug // the expected echo of every connection while Redis is killed
	}
	delete(fields, zerolog.MessageFieldName)
	delete(fields, zerolog.LevelFieldName)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	attrs := make([]slog.Attr, 0, len(keys))
	for _, k := range keys {
		attrs = append(attrs, slog.Any(k, fields[k]))
	}
	w.log.LogAttrs(context.Background(), level, "toxiproxy: "+msg, attrs...)
	return len(p), nil
}
