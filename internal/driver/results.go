package driver

import (
	"bufio"
	"fmt"
	"os"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// resultsWriter writes results in vegeta's encoding, body and headers stripped (the checks
// have read them): the measured window's to one file and the warm-up's to another, so that
// `vegeta report` on the first counts exactly the requests the report counts. An empty path
// writes nothing of that kind. It measures the slowest write to a file, so that a stall of
// the disk shows in the outcome.
type resultsWriter struct {
	measured, warmup *resultsFile
	scratch          vegeta.Result // the copy that is encoded, reused
	err              error         // the first write error; later writes are skipped
	slowest          time.Duration // the slowest write to either file
}

// resultsFile is one open results file.
type resultsFile struct {
	file *os.File
	bw   *bufio.Writer
	enc  vegeta.Encoder
}

func openResults(measuredPath, warmupPath string) (*resultsWriter, error) {
	w := &resultsWriter{}
	var err error
	if w.measured, err = w.create(measuredPath); err != nil {
		return nil, err
	}
	if w.warmup, err = w.create(warmupPath); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *resultsWriter) create(path string) (*resultsFile, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("driver: results: %w", err)
	}
	bw := bufio.NewWriterSize(timedWriter{f, &w.slowest}, 256<<10)
	return &resultsFile{file: f, bw: bw, enc: vegeta.NewEncoder(bw)}, nil
}

// write encodes res (without its body and headers) into the warm-up or the measured file.
func (w *resultsWriter) write(res *vegeta.Result, warmup bool) {
	rf := w.measured
	if warmup {
		rf = w.warmup
	}
	if rf == nil || w.err != nil {
		return
	}
	w.scratch = *res
	w.scratch.Body, w.scratch.Headers = nil, nil
	if err := rf.enc.Encode(&w.scratch); err != nil {
		w.err = fmt.Errorf("driver: results: %w", err)
	}
}

// close flushes and closes both files and returns the first error of any write or close.
// Later calls do nothing.
func (w *resultsWriter) close() error {
	for _, rf := range []*resultsFile{w.measured, w.warmup} {
		if rf == nil {
			continue
		}
		if err := rf.bw.Flush(); err != nil && w.err == nil {
			w.err = fmt.Errorf("driver: results: %w", err)
		}
		if err := rf.file.Close(); err != nil && w.err == nil {
			w.err = fmt.Errorf("driver: results: %w", err)
		}
	}
	w.measured, w.warmup = nil, nil
	return w.err
}

// timedWriter keeps the duration of the slowest Write.
type timedWriter struct {
	f       *os.File
	slowest *time.Duration
}

func (w timedWriter) Write(p []byte) (int, error) {
	t := time.Now()
	n, err := w.f.Write(p)
	if d := time.Since(t); d > *w.slowest {
		*w.slowest = d
	}
	return n, err
}
