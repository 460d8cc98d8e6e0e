package runner

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The fault proxy's warnings go to run.log and are counted, not echoed to the terminal;
// other warnings are echoed and written to run.log too.
func TestRunLogMutesNoisyComponents(t *testing.T) {
	dir := t.TempDir()
	var term bytes.Buffer
	o := &engine{Options: Options{Log: slog.New(slog.NewTextHandler(&term, &slog.HandlerOptions{Level: slog.LevelWarn}))}}
	rl := o.openRunLog(dir)
	proxy := rl.With("component", "faultproxy").With("addr", "127.0.0.1:1")
	for range 27 {
		proxy.Warn("Unable to open connection to upstream")
	}
	proxy.Info("faultproxy: state")
	rl.Warn("redis-server not found; using Docker")
	rl.Info("stack up") // below the terminal's level
	var progress bytes.Buffer
	rl.report(&progress, "[default cache]")
	if err := rl.close(); err != nil {
		t.Fatal(err)
	}

	if strings.Contains(term.String(), "upstream") || !strings.Contains(term.String(), "using Docker") || strings.Contains(term.String(), "stack up") {
		t.Errorf("terminal got:\n%s", term.String())
	}
	data, err := os.ReadFile(filepath.Join(dir, RunLogFile))
	if err != nil {
		t.Fatal(err)
	}
	log := string(data)
	if n := strings.Count(log, "Unable to open connection to upstream"); n != 27 {
		t.Errorf("run.log holds %d proxy warnings, want 27:\n%s", n, log)
	}
	for _, want := range []string{"component=faultproxy", "using Docker", "stack up", "faultproxy: state"} {
		if !strings.Contains(log, want) {
			t.Errorf("run.log lacks %q:\n%s", want, log)
		}
	}
	if want := "[default cache] 27 fault-proxy warnings"; !strings.Contains(progress.String(), want) {
		t.Errorf("progress %q lacks %q", progress.String(), want)
	}
}
