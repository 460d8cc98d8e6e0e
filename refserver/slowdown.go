package refserver

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/atlasbench/atlasbench/internal/cache"
)

// testSlowCachedPercent is a TEST-ONLY knob that a normal build never has: set at link time,
//
//	go build -ldflags "-X github.com/atlasbench/atlasbench/refserver.testSlowCachedPercent=30" ./cmd/bench
//
// it makes every cached GET answered from the cache (X-Cache: HIT) busy-wait for that
// percentage of the time the server spent handling it so far, just before the answer's
// header is written: a deliberate regression of the cached path's service time, for
// checking that bench gate -against catches one (docs/PERFORMANCE.md). It is only read, once,
// by SlowCachedPercent; an empty string (every ordinary build) is off.
var testSlowCachedPercent string

// SlowCachedPercent is the test-only slowdown of cached GETs this binary was linked with
// (0 in every ordinary build), or an error naming the bad value.
func SlowCachedPercent() (float64, error) {
	if testSlowCachedPercent == "" {
		return 0, nil
	}
	p, err := strconv.ParseFloat(testSlowCachedPercent, 64)
	if err != nil || !(p >= 0) || p > 10000 {
		return 0, fmt.Errorf("refserver: test-only knob testSlowCachedPercent=%q: want a percentage from 0 to 10000", testSlowCachedPercent)
	}
	return p, nil
}

// slowdown wraps h so that a cache hit spins for percent % of its handling time before its
// header goes out. Spinning, not sleeping: the cost is CPU, as slower code's would be.
func slowdown(h http.Handler, percent float64) http.Handler {
	if percent <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&slowWriter{ResponseWriter: w, start: time.Now(), factor: percent / 100}, r)
	})
}

// slowWriter delays the first WriteHeader (or Write) of a cache hit.
type slowWriter struct {
	http.ResponseWriter
	start   time.Time
	factor  float64
	written bool
}

func (s *slowWriter) delay() {
	if s.written {
		return
	}
	s.written = true
	if s.Header().Get("X-Cache") != cache.Hit.String() {
		return
	}
	until := time.Now().Add(time.Duration(s.factor * float64(time.Since(s.start))))
	for time.Now().Before(until) {
	}
}

func (s *slowWriter) WriteHeader(code int) {
	s.delay()
	s.ResponseWriter.WriteHeader(code)
}

func (s *slowWriter) Write(b []byte) (int, error) {
	s.delay()
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *slowWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
