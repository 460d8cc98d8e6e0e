package driver

import (
	"bufio"
	"fmt"
	"os"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// resultsWriter writes results in vegeta's encoding, body stripped: the measured window's to
// one file and the warm-up's to another, so that `vegeta report` on the first counts exactly
// the requests the report counts. An empty path writes nothing of that kind.
type resultsWriter struct {
	measured, warmup *resultsFile
	err              error // the first write error; later writes are skipped
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
	if w.measured, err = createResults(measuredPath); err != nil {
		return nil, err
	}
	if w.warmup, err = createResults(warmupPath); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func createResults(path string) (*resultsFile, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("driver: results: %w", err)
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	return &resultsFile{file: f, bw: bw, enc: vegeta.NewEncoder(bw)}, nil
}

// write encodes res (without its body) into the warm-up or the measured file.
func (w *resultsWriter) write(res *vegeta.Result, warmup bool) {
	rf := w.measured
	if warmup {
		rf = w.warmup
	}
	if rf == nil || w.err != nil {
		return
	}
	c := *res
	c.Body = nil
	if err := rf.enc.Encode(&c); err != nil {
		w.err = fmt.Errorf("driver: results: %w", err)
	}
}

// close flushes and closes both files and returns the first error of any write or close.
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
	return w.err
}
