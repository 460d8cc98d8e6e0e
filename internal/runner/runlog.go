package runner

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
)

// RunLogFile is the harness's own log in a run directory: everything the stack and the
// fault proxy log while the run is on, at Info level and above.
const RunLogFile = "run.log"

// noisyComponents log one warning per event during a fault (the fault proxy: one per
// connection it could not open to a dead Redis). Their warnings go to run.log and are
// counted instead of flooding the terminal.
var noisyComponents = map[string]bool{"faultproxy": true}

// runLogHandler writes every record to run.log and echoes the others' records to the
// terminal's handler; records of noisy components are not echoed, their warnings counted.
type runLogHandler struct {
	file, echo slog.Handler
	noisy      bool          // this logger belongs to a noisy component
	muted      *atomic.Int64 // warnings of noisy components not echoed
}

func (h *runLogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.file.Enabled(ctx, l) || h.echo.Enabled(ctx, l)
}

func (h *runLogHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.file.Handle(ctx, r.Clone())
	if h.noisy {
		if r.Level >= slog.LevelWarn {
			h.muted.Add(1)
		}
		return err
	}
	if h.echo.Enabled(ctx, r.Level) {
		h.echo.Handle(ctx, r)
	}
	return err
}

func (h *runLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	noisy := h.noisy
	for _, a := range attrs {
		if a.Key == "component" && noisyComponents[a.Value.String()] {
			noisy = true
		}
	}
	return &runLogHandler{file: h.file.WithAttrs(attrs), echo: h.echo.WithAttrs(attrs), noisy: noisy, muted: h.muted}
}

func (h *runLogHandler) WithGroup(name string) slog.Handler {
	return &runLogHandler{file: h.file.WithGroup(name), echo: h.echo.WithGroup(name), noisy: h.noisy, muted: h.muted}
}

// runLog is the logger of one mode of a run: run.log in dir, echoed to Options.Log except for
// noisy components, whose warnings are counted.
type runLog struct {
	*slog.Logger
	path  string
	muted *atomic.Int64
	close func() error
}

// openRunLog appends to dir/run.log (the modes and repeats of a run share it); when the
// file cannot be created, the run logs to Options.Log alone.
func (e *engine) openRunLog(dir string) *runLog {
	path := filepath.Join(dir, RunLogFile)
	var w io.Writer = io.Discard
	closeFn := func() error { return nil }
	if f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
		w, closeFn = f, f.Close
	}
	muted := new(atomic.Int64)
	h := &runLogHandler{file: slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}), echo: e.Log.Handler(), muted: muted}
	return &runLog{Logger: slog.New(h), path: path, muted: muted, close: closeFn}
}

// report tells the progress writer how many warnings went to run.log alone.
func (l *runLog) report(progress io.Writer, label string) {
	if n := l.muted.Load(); n > 0 {
		fmt.Fprintf(progress, "%s %d fault-proxy warnings (connections to Redis refused or dropped during the faults) logged to %s\n", label, n, l.path)
	}
}
