package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/stack"
)

const floorUsage = `floor [flags]

The reference server's cached GET /api/me beside the floor: a server that answers every request
with exactly one go-redis GET of a 512-byte value (bench serve -floor), both on the same Redis,
started for this run. Each round measures both, alternated (A B, then B A): vegeta at -rate
for -duration each, then a closed loop of -workers for -duration each. Prints p50 and p99 at
-rate, throughput at full speed, and the ratios refserver / floor beside the goals (p50 <= 1.3x,
throughput >= 0.75x). The goals are figures to read, not a verdict: the exit code is 1 only
when a server answered with an error. See docs/PERFORMANCE.md.

Examples:
  bench floor                       # 3 rounds of 5 s legs: 1000 rps, then 64 workers
  bench floor -rounds 5 -duration 10s`

// floorOptions are the parsed flags of bench floor.
type floorOptions struct {
	redis    string
	rate     int
	workers  int
	duration time.Duration
	warmup   time.Duration
	rounds   int
}

func runFloor(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("floor", floorUsage, stdout)
	var o floorOptions
	fs.StringVar(&o.redis, "redis", "process", "the Redis both servers use: process (a child redis-server), docker, or a redis:// URL")
	fs.IntVar(&o.rate, "rate", 1000, "requests per second of the fixed-rate legs (latency)")
	fs.IntVar(&o.workers, "workers", 64, "requests in flight in the full-speed legs (throughput)")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "length of each leg")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load on each server before the first round (fills the cache, opens connections)")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; each measures both servers, in alternating order")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usagef("floor: unexpected argument %q", fs.Arg(0))
	case o.rate <= 0:
		return usagef("floor: -rate must be > 0")
	case o.workers <= 0:
		return usagef("floor: -workers must be > 0")
	case o.duration <= 0:
		return usagef("floor: -duration must be > 0")
	case o.rounds <= 0:
		return usagef("floor: -rounds must be > 0")
	}
	secret, _ := jwtSecret(getenv)
	so := stack.Options{Binary: getenv("ATLAS_BENCH_BIN"), Secret: secret, ServerLog: stack.SerialWriter(stderr)} // two servers log into it

	rds, err := stack.StartRedis(ctx, stack.RedisOptions{Spec: o.redis, Memory: stack.DefaultMemory})
	if err != nil {
		return envError{fmt.Errorf("floor: redis: %w", err)}
	}
	defer rds.Close()
	ref := so
	ref.Redis, ref.Mode, ref.Config = rds.URL, "cache", "default"
	ref.Seed, ref.Users, ref.Conversations, ref.Messages = 1, 10, 1, 1
	st, err := stack.Up(ctx, ref)
	if err != nil {
		return envError{fmt.Errorf("floor: reference server: %w", err)}
	}
	defer st.Close()
	fl, err := stack.StartFloor(ctx, so, rds.URL)
	if err != nil {
		return envError{fmt.Errorf("floor: %w", err)}
	}
	defer fl.Stop()

	tok, err := atlas.NewToken(secret, atlas.SeedUserID(1), time.Now(), 24*time.Hour)
	if err != nil {
		return envError{err}
	}
	hdr := http.Header{"Authorization": {"Bearer " + tok}}
	sides := []*floorSide{
		{name: "refserver", target: vegeta.Target{Method: "GET", URL: st.URL + "/api/me", Header: hdr}},
		{name: "floor", target: vegeta.Target{Method: "GET", URL: fl.URL + "/api/me", Header: hdr}},
	}
	fmt.Fprintf(stderr, "bench floor: %d rounds of %s legs at %d rps and %d workers, Redis %s\n", o.rounds, o.duration, o.rate, o.workers, rds.Backend)
	for _, s := range sides {
		s.attack(ctx, vegeta.Rate{Freq: o.rate / 4, Per: time.Second}, 0, o.warmup, nil)
	}
	for r := range o.rounds {
		order := sides
		if r%2 == 1 {
			order = []*floorSide{sides[1], sides[0]}
		}
		for _, s := range order {
			s.attack(ctx, vegeta.Rate{Freq: o.rate, Per: time.Second}, 0, o.duration, &s.paced)
		}
		for _, s := range order {
			s.attack(ctx, vegeta.Rate{}, o.workers, o.duration, &s.full)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	for _, s := range sides {
		s.paced.Close()
		s.full.Close()
	}
	writeFloor(stdout, o, sides)
	var errs int
	for _, s := range sides {
		errs += s.errors
	}
	if errs > 0 {
		return failError{fmt.Sprintf("floor: %d requests failed (see the table)", errs)}
	}
	return nil
}

// floorSide is one server's measurements across the rounds.
type floorSide struct {
	name        string
	target      vegeta.Target
	paced, full vegeta.Metrics
	pacedTime   time.Duration // wall time of the fixed-rate legs
	fullTime    time.Duration // wall time of the full-speed legs
	errors      int           // non-200 answers and transport errors, warm-up included
	hits, gets  int           // X-Cache: HIT among the answers that carry X-Cache
}

// attack runs one leg: at rate (Freq 0: a closed loop of workers) for d; into m unless nil.
func (s *floorSide) attack(ctx context.Context, rate vegeta.Rate, workers int, d time.Duration, m *vegeta.Metrics) {
	opts := []func(*vegeta.Attacker){vegeta.KeepAlive(true), vegeta.MaxBody(4096)}
	if workers > 0 {
		opts = append(opts, vegeta.Workers(uint64(workers)), vegeta.MaxWorkers(uint64(workers)))
	}
	atk := vegeta.NewAttacker(opts...)
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()
	start := time.Now()
	for res := range atk.Attack(vegeta.NewStaticTargeter(s.target), rate, d, s.name) {
		if res.Code != http.StatusOK {
			s.errors++
		}
		if xc := res.Headers.Get("X-Cache"); xc != "" {
			s.gets++
			if xc == "HIT" {
				s.hits++
			}
		}
		if m != nil {
			m.Add(res)
		}
	}
	switch m {
	case &s.full:
		s.fullTime += time.Since(start)
	case &s.paced:
		s.pacedTime += time.Since(start)
	}
}

// throughput is the full-speed legs' answers per second of their wall time.
func (s *floorSide) throughput() float64 { return perSecond(s.full.Requests, s.fullTime) }

// pacedRate is the fixed-rate legs' answers per second of their wall time (vegeta's own
// Rate would span the other legs in between).
func (s *floorSide) pacedRate() float64 { return perSecond(s.paced.Requests, s.pacedTime) }

func perSecond(n uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// writeFloor prints the side-by-side table and the ratios against the goals.
func writeFloor(w io.Writer, o floorOptions, sides []*floorSide) {
	ref, fl := sides[0], sides[1]
	msf := func(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/1e6) }
	ratio := func(a, b float64) float64 {
		if b <= 0 {
			return 0
		}
		return a / b
	}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "missed"
	}
	p50 := ratio(float64(ref.paced.Latencies.P50), float64(fl.paced.Latencies.P50))
	p99 := ratio(float64(ref.paced.Latencies.P99), float64(fl.paced.Latencies.P99))
	thr := ratio(ref.throughput(), fl.throughput())
	fmt.Fprintf(w, "refserver cached GET /api/me vs the floor (HTTP + one go-redis GET of %d bytes), same Redis, %d rounds alternated\n\n", stack.FloorValueSize, o.rounds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "figure\trefserver\tfloor\tratio\tgoal\t\t\n")
	fmt.Fprintf(tw, "p50 at %d rps (ms)\t%s\t%s\t%.2fx\t<= 1.30x\t%s\t\n", o.rate, msf(ref.paced.Latencies.P50), msf(fl.paced.Latencies.P50), p50, verdict(p50 <= 1.3))
	fmt.Fprintf(tw, "p99 at %d rps (ms)\t%s\t%s\t%.2fx\t\t\t\n", o.rate, msf(ref.paced.Latencies.P99), msf(fl.paced.Latencies.P99), p99)
	fmt.Fprintf(tw, "answers/s of the %d rps legs\t%.1f\t%.1f\t\t\t\t\n", o.rate, ref.pacedRate(), fl.pacedRate())
	fmt.Fprintf(tw, "full speed, %d workers (rps)\t%.0f\t%.0f\t%.2fx\t>= 0.75x\t%s\t\n", o.workers, ref.throughput(), fl.throughput(), thr, verdict(thr >= 0.75))
	fmt.Fprintf(tw, "errors\t%d\t%d\t\t\t\t\n", ref.errors, fl.errors)
	tw.Flush()
	if ref.gets > 0 {
		hit := float64(ref.hits) / float64(ref.gets)
		fmt.Fprintf(w, "\nrefserver X-Cache HIT: %.1f%% of %d answers\n", 100*hit, ref.gets)
		if hit < 0.99 {
			fmt.Fprintln(w, "warning: not every refserver answer came from its cache (a Redis timeout opens its breaker and sends reads to the database, as under CPU starvation): its figures include database reads; rerun on a quieter machine")
		}
	}
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Fprintf(w, "load average at the end: %s\n", strings.Join(strings.Fields(string(load))[:3], " "))
	}
}
