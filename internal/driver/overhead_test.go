package driver_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"syscall"
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
// the maximum throughput of plain vegeta (-rate=0 with max workers: a closed loop) and of
// atlasbench's whole pipeline at `rate: {shape: max}` (plan, tokens, request-ID mapping,
// checkers, HDR metrics, results file) with the same number of workers for the same time,
// and reports the ratio (the goal is >= 0.9), as the ratio of the sums and as the median of
// the per-pair ratios; run it with -benchtime 20x or more for a steady median. The pipeline
// must have judged every answer with no error or finding, or the benchmark fails. Profile it
// with
//
//	go test -run '^$' -bench Overhead -benchtime 3x -cpuprofile cpu.prof -memprofile mem.prof ./internal/driver/
//	go tool pprof -top -cum driver.test cpu.prof
func BenchmarkOverhead(b *testing.B) {
	// The server answers each user as the reference server would: a response naming another
	// user would be an isolation finding, and findings are the checkers' rare, slow path.
	// Bodies are made once per token, so the server's cost is the same for both clients.
	secret := []byte("overhead")
	var bodies sync.Map // Authorization value → body
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		body, ok := bodies.Load(auth)
		if !ok {
			user, err := atlas.ParseToken(secret, strings.TrimPrefix(auth, "Bearer "), time.Now())
			if err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			body, _ = bodies.LoadOrStore(auth, []byte(`{"userId":"`+user+`","tier":"core","limits":{"messagesPerDay":0,"maxMessageBytes":16000}}`))
		}
		w.Header().Set("X-Atlas-Tier", "core")
		w.Header().Set("X-Cache", "HIT")
		w.Write(body.([]byte))
	}))
	defer srv.Close()
	const workers = 32
	window := 2 * time.Second

	plain := func() float64 {
		atk := vegeta.NewAttacker(vegeta.Workers(workers), vegeta.MaxWorkers(workers), vegeta.KeepAlive(true))
		// The same request shape as atlasbench's: a bearer token and a request ID.
		tok, err := atlas.NewToken(secret, "u1", time.Now(), time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		tr := vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: srv.URL + "/api/me/tier",
			Header: http.Header{"Authorization": {"Bearer " + tok}, "X-Request-Id": {"123456"}}})
		var n int
		start := time.Now()
		for res := range atk.Attack(tr, vegeta.Rate{Freq: 0}, window, "plain") {
			io.Discard.Write(res.Body)
			n++
		}
		return float64(n) / time.Since(start).Seconds()
	}
	ours := func() float64 {
		sc, err := scenarios.Parse("overhead.yaml", []byte(fmt.Sprintf(`name: overhead
duration: %s
rate: {shape: max, workers: %d}
population: {users: 1000, tiers: {core: 1}, conversations: 1, messages: 1}
keys: {distribution: zipf, s: 1.1}
mix:
  - {req: "GET /api/me/tier", weight: 1}
`, window, workers)))
		if err != nil {
			b.Fatal(err)
		}
		rec := metrics.NewRecorder(metrics.Options{Mode: "cache"})
		chk := check.New(check.Options{Next: rec.Add})
		start := time.Now()
		out, err := driver.Run(context.Background(), driver.Config{
			BaseURL: srv.URL, Scenario: sc, Secret: secret, Mode: "cache",
			ResultsPath: b.TempDir() + "/results.bin", Sink: chk.Add,
		})
		if err != nil {
			b.Fatal(err)
		}
		chk.Close()
		elapsed := time.Since(start)
		// The pipeline measured must have done its work: every request answered and judged.
		if rep := chk.Report(); rep.Checked == 0 || rep.Checked != out.Measured || out.Unmatched != 0 ||
			rep.Errors != 0 || rep.IsolationViolations()+rep.Stale != 0 {
			b.Fatalf("overhead run: %d of %d measured judged, %d unmatched, %d errors, %d isolation and %d stale findings (%v); want every one judged and nothing else",
				rep.Checked, out.Measured, out.Unmatched, rep.Errors, rep.IsolationViolations(), rep.Stale, rep.Examples)
		}
		return float64(out.Results) / elapsed.Seconds()
	}
	// CPU per request (this process: client, pipeline and server together) is the steadier
	// figure on a shared machine: other processes' load changes the rate both reach, much
	// less what each request costs. At saturation, rate ratio ≈ inverse CPU ratio.
	var sumPlain, sumOurs, cpuPlain, cpuOurs, nPlain, nOurs float64
	measure := func(run func() float64, sum, cpu, n *float64) float64 {
		c0, t0 := processCPU(), time.Now()
		rate := run()
		*sum += rate
		*cpu += float64(processCPU() - c0)
		*n += rate * time.Since(t0).Seconds()
		return rate
	}
	// A shared 2-vCPU machine swings the rate both reach by a third from one window to the
	// next; the median of the per-pair ratios is the figure least moved by that.
	var pairs []float64
	for b.Loop() {
		// Interleaved, so drift on a shared machine hits both alike.
		rp := measure(plain, &sumPlain, &cpuPlain, &nPlain)
		ro := measure(ours, &sumOurs, &cpuOurs, &nOurs)
		pairs = append(pairs, ro/rp)
	}
	slices.Sort(pairs)
	b.ReportMetric(pairs[len(pairs)/2], "median-pair-ratio")
	b.ReportMetric(sumPlain/float64(b.N), "vegeta-rps")
	b.ReportMetric(sumOurs/float64(b.N), "atlasbench-rps")
	b.ReportMetric(sumOurs/sumPlain, "ratio")
	b.ReportMetric(cpuPlain/nPlain/1e3, "vegeta-cpu-µs/req")
	b.ReportMetric(cpuOurs/nOurs/1e3, "atlasbench-cpu-µs/req")
	b.ReportMetric((cpuPlain/nPlain)/(cpuOurs/nOurs), "cpu-ratio")
}

// processCPU is the user + system CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
