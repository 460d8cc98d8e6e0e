package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/live"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// freeAddr is a loopback address free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startPrometheus runs the prometheus binary (the Debian package) on a free loopback port
// with a temporary config scraping target every scrape and a temporary data directory; the
// test skips, naming the reason, where none can be started.
func startPrometheus(t *testing.T, target string, scrape time.Duration) (base string) {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skipf("live view not proven against Prometheus: no prometheus binary (apt-get install prometheus): %v", err)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf("global: {scrape_interval: %s, evaluation_interval: %s}\nscrape_configs:\n  - job_name: atlasbench\n    static_configs: [{targets: [%q]}]\n",
		scrape, scrape, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	logf, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Skipf("live view not proven against Prometheus: %s does not start: %v", bin, err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
	base = "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(base + "/-/ready")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Skipf("live view not proven against Prometheus: not ready within 30 s (%v)\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond) // polling readiness: Prometheus offers no event to wait on
	}
}

// promQuery evaluates an instant PromQL query at time at and returns its single value.
func promQuery(t *testing.T, base, query string, at time.Time) float64 {
	t.Helper()
	u := base + "/api/v1/query?" + url.Values{"query": {query}, "time": {strconv.FormatFloat(float64(at.UnixNano())/1e9, 'f', 3, 64)}}.Encode()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Status != "success" || len(body.Data.Result) != 1 {
		t.Fatalf("query %s: status %s, %d results, error %q", query, body.Status, len(body.Data.Result), body.Error)
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("query %s: value %q: %v", query, s, err)
	}
	return v
}

// TestLiveViewPrometheus proves the live view with a real Prometheus scraping a run's
// -metrics-addr every 500 ms: after the run, its query of the measured requests equals the
// run's count exactly, its request rate over the measured window equals the rate the run
// reported, and -out jsonl=FILE holds a line per second of the attack.
func TestLiveViewPrometheus(t *testing.T) {
	t.Parallel()
	metricsAddr := freeAddr(t)
	prom := startPrometheus(t, metricsAddr, 500*time.Millisecond)
	out := t.TempDir()
	jsonl := filepath.Join(out, "live.jsonl")
	stdout, stderr, code := runBench(t, context.Background(), nil, "run", "-scenario", "testdata/live.yaml", "-mode", "cache",
		"-out", out, "-out", "jsonl="+jsonl, "-metrics-addr", metricsAddr, "-quiet")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	s, err := summary.Read(filepath.Join(out, "latest"))
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now()
	requests := promQuery(t, prom, fmt.Sprintf(`sum(max_over_time(%s{mode="cache"}[5m]))`, live.MetricRequests), end)
	if int64(requests) != s.Requests {
		t.Errorf("Prometheus counted %v measured requests, the run %d", requests, s.Requests)
	}
	// The request rate as Prometheus computes it from its scrapes (the peak of a 4 s rate
	// over the run, which a constant-rate run holds through its measured window), against
	// the rate the run reported.
	promRate := promQuery(t, prom, fmt.Sprintf(`max_over_time(sum(rate(%s{mode="cache"}[4s]))[5m:500ms])`, live.MetricRequests), end)
	t.Logf("Prometheus: %v measured requests (the run: %d); rate(%s[4s]) %.2f rps; the run reported %.2f rps achieved (target %.0f)",
		requests, s.Requests, live.MetricRequests, promRate, s.Rate.Achieved, s.Rate.Target)
	if promRate < 0.8*s.Rate.Achieved || promRate > 1.25*s.Rate.Achieved {
		t.Errorf("Prometheus's rate %.2f rps is not the run's %.2f rps", promRate, s.Rate.Achieved)
	}
	if phase := promQuery(t, prom, fmt.Sprintf(`max_over_time(%s{mode="cache",phase="steady"}[5m])`, live.MetricPhase), end); phase != 1 {
		t.Errorf("the steady phase was never current in Prometheus (max %v)", phase)
	}

	f, err := os.Open(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []live.Line
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l live.Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("jsonl line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	// 9 s of attack (1 s warm-up + 8 s): a line per second, the first ones in warm-up.
	if len(lines) < 7 || lines[len(lines)-1].Phase != "steady" || lines[len(lines)-1].Done == 0 || lines[len(lines)-1].HitRate == nil {
		t.Errorf("jsonl: %d lines, first %+v, last %+v", len(lines), lines[0], lines[len(lines)-1])
	}
}
