package refserver

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/cache"
)

// testSlowCached is a TEST-ONLY knob that a normal build never has. Set at link time,
//
//	go build -ldflags "-X github.com/atlasbench/atlasbench/refserver.testSlowCached=30%" ./cmd/bench
//	go build -ldflags "-X github.com/atlasbench/atlasbench/refserver.testSlowCached=180us" ./cmd/bench
//
// it makes every cached GET answered from the cache (X-Cache: HIT) busy-wait, just before
// its header is written, for that percentage of the time the server spent on it so far, or
// for that fixed time: a deliberate regression of the cached path, for checking that
// bench gate -against catches one (docs/PERFORMANCE.md, "Same-job A/B gate"). The server
// logs a warning at start when it is set. Read only by ParseSlowCached; "" (every ordinary
// build) is off.
var testSlowCached string

// Slowdown is the test-only slowdown of cache hits a binary was linked with (testSlowCached).
type Slowdown struct {
	Percent float64       // of the hit's handling time so far
	Fixed   time.Duration // added to every hit
}

// Zero reports whether the slowdown is off.
func (s Slowdown) Zero() bool { return s.Percent == 0 && s.Fixed == 0 }

// String is the knob's value: "30%", "180µs", or "off".
func (s Slowdown) String() string {
	switch {
	case s.Percent > 0:
		return strconv.FormatFloat(s.Percent, 'g', -1, 64) + "%"
	case s.Fixed > 0:
		return s.Fixed.String()
	}
	return "off"
}

// ParseSlowCached reads a slowdown: "" (off), "30%" (0 to 10000), or a Go duration up to 1s
// ("180us").
func ParseSlowCached(v string) (Slowdown, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return Slowdown{}, nil
	}
	if p, ok := strings.CutSuffix(v, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || !(f >= 0 && f <= 10000) {
			return Slowdown{}, fmt.Errorf("refserver: test-only knob testSlowCached=%q: want a percentage from 0%% to 10000%%", v)
		}
		return Slowdown{Percent: f}, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > time.Second {
		return Slowdown{}, fmt.Errorf("refserver: test-only knob testSlowCached=%q: want a percentage (30%%) or a duration up to 1s (180us)", v)
	}
	return Slowdown{Fixed: d}, nil
}

// BuildSlowdown is the slowdown this binary was linked with (the zero Slowdown in every
// ordinary build), or an error naming the bad value.
func BuildSlowdown() (Slowdown, error) { return ParseSlowCached(testSlowCached) }

// slowdown wraps h so that a cache hit spins for its Slowdown before its header goes out.
// Spinning, not sleeping: the cost is CPU, as slower code's would be.
func slowdown(h http.Handler, sd Slowdown) http.Handler {
	if sd.Zero() {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&slowWriter{ResponseWriter: w, start: time.Now(), sd: sd}, r)
	})
}

// slowWriter delays the first WriteHeader (or Write) of a cache hit.
type slowWriter struct {
	http.ResponseWriter
	start   time.Time
	sd      Slowdown
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
	d := s.sd.Fixed + time.Duration(s.sd.Percent/100*float64(time.Since(s.start)))
	for until := time.Now().Add(d); time.Now().Before(until); {
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
