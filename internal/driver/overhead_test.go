package driver_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/metrics"
	"github.com/atlasbench/atlasbench/scenarios"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// BenchmarkOverhead measures, against the same trivial loopback server in the same run,
// the maximum throughput of a plain vegeta attack and of atlasbench's whole pipeline
// (plan, tokens, request-ID mapping, checkers, HDR metrics, results file) with the same
// number of workers, and reports the ratio (the issue asks for ≥ 0.9).
func BenchmarkOverhead(b *testing.B) {
	body := []byte(`{"userId":"u1","tier":"core","limits":{"messagesPerDay":0,"maxMessageBytes":16000}}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Atlas-Tier", "core")
		w.Header().Set("X-Cache", "HIT")
		w.Write(body)
	}))
	defer srv.Close()
	const workers = 32
	window := 2 * time.Second

	plain := func(rate vegeta.Rate) float64 {
		atk := vegeta.NewAttacker(vegeta.Workers(workers), vegeta.MaxWorkers(workers), vegeta.KeepAlive(true))
		// The same request shape as atlasbench's: a bearer token and a request ID.
		tok, err := atlas.NewToken([]byte("overhead"), "u1", time.Now(), time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		tr := vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: srv.URL + "/api/me/tier",
			Header: http.Header{"Authorization": {"Bearer " + tok}, "X-Request-Id": {"123456"}}})
		var n int
		start := time.Now()
		for res := range atk.Attack(tr, rate, window, "plain") {
			io.Discard.Write(res.Body)
			n++
		}
		return float64(n) / time.Since(start).Seconds()
	}
	ours := func() float64 {
		sc, err := scenarios.Parse("overhead.yaml", []byte(fmt.Sprintf(`name: overhead
duration: %s
rate: {shape: constant, rps: 100000}
population: {users: 1000, tiers: {core: 1}, conversations: 1, messages: 1}
keys: {distribution: zipf, s: 1.1}
mix:
  - {req: "GET /api/me/tier", weight: 1}
`, window)))
		if err != nil {
			b.Fatal(err)
		}
		rec := metrics.NewRecorder(metrics.Options{Mode: "cache"})
		chk := check.New(check.Options{Next: rec.Add})
		// The schedule asks for far more than the workers can send, so the pipeline runs flat
		// out until the schedule's hits are done; throughput is results over elapsed time.
		start := time.Now()
		out, err := driver.Run(context.Background(), driver.Config{
			BaseURL: srv.URL, Scenario: sc, Secret: []byte("overhead"), Mode: "cache",
			ResultsPath: b.TempDir() + "/results.bin", Workers: workers, MaxWorkers: workers, Sink: chk.Add,
		})
		if err != nil {
			b.Fatal(err)
		}
		chk.Close()
		return float64(out.Results) / time.Since(start).Seconds()
	}
	var sumPlain, sumPaced, sumOurs float64
	for b.Loop() {
		// Interleaved, so drift on a shared machine hits all alike. "paced" is plain vegeta with
		// a pacer asking for more than it can send, as atlasbench always has one.
		sumPlain += plain(vegeta.Rate{Freq: 0})
		sumPaced += plain(vegeta.Rate{Freq: 100000, Per: time.Second})
		sumOurs += ours()
	}
	b.ReportMetric(sumPlain/float64(b.N), "vegeta-rps")
	b.ReportMetric(sumPaced/float64(b.N), "vegeta-paced-rps")
	b.ReportMetric(sumOurs/float64(b.N), "atlasbench-rps")
	b.ReportMetric(sumOurs/sumPlain, "ratio")
	b.ReportMetric(sumOurs/sumPaced, "ratio-vs-paced")
}
