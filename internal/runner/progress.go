package runner

import (
	"fmt"
	"io"
	"time"

	"github.com/atlasbench/atlasbench/internal/driver"
)

// progress prints live progress: on a terminal one line rewritten every second, else a
// plain line every five seconds (CI logs).
type progress struct {
	w         io.Writer
	tty       bool
	label     string
	lastPlain time.Duration
}

func newProgress(w io.Writer, tty bool, mode string, rep, count int) *progress {
	label := mode
	if count > 1 {
		label = fmt.Sprintf("%s %d/%d", mode, rep, count)
	}
	return &progress{w: w, tty: tty, label: label, lastPlain: -time.Hour}
}

func (p *progress) tick(pr driver.Progress) {
	phase := ""
	if pr.Warmup {
		phase = " (warm-up)"
	}
	hit := "—"
	if pr.HitRate >= 0 {
		hit = fmt.Sprintf("%.1f%%", 100*pr.HitRate)
	}
	line := fmt.Sprintf("[%s] %5.1fs/%.0fs%s  %6.0f rps  %d errors  hit %s  sent %d",
		p.label, pr.Elapsed.Seconds(), pr.Total.Seconds(), phase, pr.RPS, pr.Errors, hit, pr.Sent)
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		return
	}
	if pr.Elapsed-p.lastPlain >= 5*time.Second {
		p.lastPlain = pr.Elapsed
		fmt.Fprintln(p.w, line)
	}
}
