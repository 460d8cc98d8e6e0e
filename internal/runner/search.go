package runner

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/procstat"
	"github.com/atlasbench/atlasbench/internal/render"
	"github.com/atlasbench/atlasbench/internal/stack"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/witness"
	"github.com/atlasbench/atlasbench/scenarios"
)

// A capacity search's figures: the driver judges each step from its own answers; the
// runner samples the run's resources meanwhile (searchSampler) and, per step, turns the
// samples inside the step's judged part into what each resource did (stepResources); the
// rule in bottleneck names the resource that saturated first.

// searchEvery is how often the resources are sampled during a capacity search.
const searchEvery = 250 * time.Millisecond

// resourceSample is a reading of some of the resources, at the time it was taken.
type resourceSample struct {
	at      time.Time
	cpu     []time.Duration // per source, CPU time so far; nil when not read
	machine procstat.Machine
	redis   *witness.RedisCounters // nil when not read
	pools   *poolCounters          // the servers' summed; nil when not read
	pg      *pgReading             // nil when not read
}

// pgReading is PostgreSQL's side of a sample: its backends' CPU time (those connected to
// the run's database at the time) and its statement time and transactions so far.
type pgReading struct {
	cpu      time.Duration
	activeMS float64 // -1: not known (before PostgreSQL 14)
	xacts    int64
}

// poolCounters are the servers' connection-pool counters (/metrics), summed.
type poolCounters struct {
	redisWaits, redisWaitS, redisTimeouts, dbWaits, dbWaitS float64
}

// searchSampler samples the run's processes' CPU (procstat), the machine's, Redis's INFO and
// the servers' pool counters while a capacity search runs.
type searchSampler struct {
	sources []procstat.Source
	red     *witness.Redis
	pg      *witness.Postgres // nil unless the run's database is a PostgreSQL on this machine
	bases   []string
	client  *http.Client
	stop    func()

	mu      sync.Mutex
	samples []resourceSample
}

// startSearchSampler starts sampling; stop (also run on close) ends it. pgDSN and pgDB
// name the run's PostgreSQL database (empty: none).
func startSearchSampler(ctx context.Context, st *stack.Stack, bases []string, pgDSN, pgDB string) *searchSampler {
	s := &searchSampler{sources: []procstat.Source{procstat.Self()}, bases: bases, client: &http.Client{Timeout: time.Second}}
	if st != nil {
		for _, sv := range st.Servers {
			s.sources = append(s.sources, procstat.Source{Name: fmt.Sprintf("server-%d", sv.Index), Pids: func() []int { return []int{sv.Pid()} }})
		}
		if st.Redis != nil {
			if len(st.Redis.Pids()) > 0 {
				s.sources = append(s.sources, procstat.Source{Name: "redis", Pids: st.Redis.Pids})
			}
			if st.Redis.Backend != stack.BackendEmbedded {
				s.red, _ = witness.NewRedis([]string{st.Redis.URL})
			}
		}
	}
	if pgDSN != "" && witness.Local(pgDSN) {
		octx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if pg, err := witness.OpenPostgres(octx, pgDSN, pgDB); err == nil {
			s.pg = pg
		}
		cancel()
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	// Independent loops, each stamping its own readings: a slow INFO or /metrics (a busy server)
	// neither delays the CPU readings nor skews their time.
	loops := []func(context.Context) *resourceSample{s.readCPU}
	if s.red != nil {
		loops = append(loops, s.readRedis)
	}
	if len(bases) > 0 {
		loops = append(loops, s.readPools)
	}
	if s.pg != nil {
		loops = append(loops, s.readPG)
	}
	var wg sync.WaitGroup
	for _, read := range loops {
		wg.Go(func() {
			t := time.NewTicker(searchEvery)
			defer t.Stop()
			for {
				if r := read(sctx); r != nil {
					s.mu.Lock()
					s.samples = append(s.samples, *r)
					s.mu.Unlock()
				}
				select {
				case <-sctx.Done():
					return
				case <-t.C:
				}
			}
		})
	}
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			if s.pg != nil {
				s.pg.Close()
			}
		})
	}
	return s
}

// readCPU reads every process's CPU time and the machine's.
func (s *searchSampler) readCPU(context.Context) *resourceSample {
	r := &resourceSample{cpu: make([]time.Duration, len(s.sources))}
	for i, src := range s.sources {
		for _, pid := range src.Pids() {
			r.cpu[i] += procstat.CPU(pid)
		}
	}
	r.machine, r.at = procstat.MachineCPU(), time.Now()
	return r
}

// readRedis reads Redis's INFO (its CPU and commands); nil when it does not answer.
func (s *searchSampler) readRedis(ctx context.Context) *resourceSample {
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := s.red.Read(rctx)
	if err != nil {
		return nil
	}
	return &resourceSample{redis: &c, at: time.Now()}
}

// readPG reads PostgreSQL's backends of the run's database and its statement time.
func (s *searchSampler) readPG(ctx context.Context) *resourceSample {
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	a, err := s.pg.Activity(rctx)
	if err != nil {
		return nil
	}
	r := &pgReading{activeMS: a.ActiveMS, xacts: a.Xacts}
	for _, pid := range a.Pids {
		r.cpu += procstat.CPU(pid)
	}
	return &resourceSample{pg: r, at: time.Now()}
}

// readPools reads every server's pool counters; nil unless all of them answered.
func (s *searchSampler) readPools(ctx context.Context) *resourceSample {
	var pools poolCounters
	for _, b := range s.bases {
		p, err := scrapePools(ctx, s.client, b)
		if err != nil {
			return nil
		}
		pools.add(p)
	}
	return &resourceSample{pools: &pools, at: time.Now()}
}

func (p *poolCounters) add(q poolCounters) {
	p.redisWaits += q.redisWaits
	p.redisWaitS += q.redisWaitS
	p.redisTimeouts += q.redisTimeouts
	p.dbWaits += q.dbWaits
	p.dbWaitS += q.dbWaitS
}

// scrapePools reads a server's pool counters from its /metrics (Prometheus text; the
// counters have no labels).
func scrapePools(ctx context.Context, client *http.Client, base string) (poolCounters, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/metrics", nil)
	if err != nil {
		return poolCounters{}, err
	}
	res, err := client.Do(req)
	if err != nil {
		return poolCounters{}, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return poolCounters{}, fmt.Errorf("runner: %s/metrics: %s", base, res.Status)
	}
	var p poolCounters
	dst := map[string]*float64{
		atlas.MetricRedisPoolWaits: &p.redisWaits, atlas.MetricRedisPoolWaitSeconds: &p.redisWaitS,
		atlas.MetricRedisPoolTimeouts: &p.redisTimeouts, atlas.MetricDBPoolWaits: &p.dbWaits,
		atlas.MetricDBPoolWaitSeconds: &p.dbWaitS,
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if d := dst[name]; ok && d != nil {
			*d, _ = strconv.ParseFloat(strings.TrimSpace(val), 64)
		}
	}
	return p, sc.Err()
}

// figures stops sampling and turns the search's steps into the mode's capacity_search.
func (s *searchSampler) figures(out *driver.SearchOutcome) *summary.CapacitySearch {
	var samples []resourceSample
	names := []string{"harness"}
	if s != nil {
		s.stop()
		s.mu.Lock()
		samples = slices.Clone(s.samples)
		s.mu.Unlock()
		slices.SortStableFunc(samples, func(a, b resourceSample) int { return a.at.Compare(b.at) })
		names = names[:0]
		for _, src := range s.sources {
			names = append(names, src.Name)
		}
	}
	cs := &summary.CapacitySearch{SLO: out.SLO, SLOMS: sloBoundMS(out.SLO), RPSHeld: out.Held, RPSMissed: out.Missed, Stopped: out.Why, Cores: runtime.NumCPU()}
	for _, st := range out.Steps {
		step := summary.SearchStep{
			OfferedRPS: st.Offered, AchievedRPS: st.Achieved, Requests: st.Requests, Errors: st.Errors,
			P50MS: ms(st.P50), P99MS: ms(st.P99), MaxMS: ms(st.Max), LagP99MS: ms(st.LagP99), Held: st.Held, Why: st.Why,
		}
		step.Resources = stepResources(samples, names, st.WindowStart, st.WindowEnd, st.Achieved, cs.Cores)
		if step.Resources != nil {
			step.HarnessCPU = step.Resources.CPU["harness"]
		}
		cs.Steps = append(cs.Steps, step)
	}
	if s != nil && s.sources != nil {
		cs.Bottleneck = bottleneck(cs)
	}
	return cs
}

// stepResources is what each resource did between the first and the last of its samples
// inside [from, to] (samples sorted by time); nil with fewer than two CPU readings there. rps
// is the step's answers per second, for the pools' figures per request.
func stepResources(samples []resourceSample, names []string, from, to time.Time, rps float64, cores int) *summary.StepResources {
	a, b, wall, ok := bracket(samples, from, to, func(r resourceSample) bool { return r.cpu != nil })
	if !ok {
		return nil
	}
	r := &summary.StepResources{CPU: map[string]float64{}}
	for k, name := range names {
		if k < len(a.cpu) && k < len(b.cpu) {
			r.CPU[name] = round3(max(b.cpu[k]-a.cpu[k], 0).Seconds() / wall)
		}
	}
	if total := (b.machine.Total - a.machine.Total).Seconds(); total > 0 {
		r.MachineBusy = round3((b.machine.Busy - a.machine.Busy).Seconds() / total)
	}
	if a, b, wall, ok := bracket(samples, from, to, func(r resourceSample) bool { return r.redis != nil }); ok && b.redis.Commands >= a.redis.Commands {
		cpu := round3((b.redis.CPUSeconds - a.redis.CPUSeconds) / wall)
		ops := round3(float64(b.redis.Commands-a.redis.Commands) / wall)
		r.RedisCPU, r.RedisOpsPerS = &cpu, &ops
	}
	if a, b, wall, ok := bracket(samples, from, to, func(r resourceSample) bool { return r.pools != nil }); ok && rps > 0 {
		reqs := rps * wall
		per := func(x float64) *float64 { v := round3(max(x, 0) / reqs); return &v }
		r.RedisPoolWaitsPerRequest = per(b.pools.redisWaits - a.pools.redisWaits)
		r.RedisPoolWaitMSPerReq = per((b.pools.redisWaitS - a.pools.redisWaitS) * 1000)
		r.DBPoolWaitsPerRequest = per(b.pools.dbWaits - a.pools.dbWaits)
		r.DBPoolWaitMSPerReq = per((b.pools.dbWaitS - a.pools.dbWaitS) * 1000)
		t := int64(max(b.pools.redisTimeouts-a.pools.redisTimeouts, 0))
		r.RedisPoolTimeouts = &t
	}
	if a, b, wall, ok := bracket(samples, from, to, func(r resourceSample) bool { return r.pg != nil }); ok {
		// A backend that exited between the readings takes its CPU with it: at worst an
		// underestimate (the server's pool keeps its connections).
		cpu := round3(max(b.pg.cpu-a.pg.cpu, 0).Seconds() / wall)
		r.PGCPU = &cpu
		if x := b.pg.xacts - a.pg.xacts; x > 0 && a.pg.activeMS >= 0 && b.pg.activeMS >= a.pg.activeMS {
			per := round3((b.pg.activeMS - a.pg.activeMS) / float64(x))
			r.DBMSPerQuery = &per
		}
	}
	return r
}

// bracket is the first and the last sample with has inside [from, to], and the seconds
// between them; false with fewer than two.
func bracket(samples []resourceSample, from, to time.Time, has func(resourceSample) bool) (a, b resourceSample, wall float64, ok bool) {
	n := 0
	for _, r := range samples {
		if !has(r) || r.at.Before(from) || r.at.After(to) {
			continue
		}
		if n == 0 {
			a = r
		}
		b, n = r, n+1
	}
	wall = b.at.Sub(a.at).Seconds()
	return a, b, wall, n >= 2 && wall > 0
}

func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

// Saturation marks of the bottleneck rule.
const (
	saturated      = 0.9  // a share of a resource's capacity
	poolWaitsShare = 0.1  // pool waits per answered request
	lagShareOfSLO  = 0.25 // the generator's send lag p99, as a share of the SLO's bound
)

// BottleneckRule is the rule bottleneck applies, as the report prints it.
const BottleneckRule = "the first step (by offered rate) at which a resource reached its mark names it; at that step, in this order: " +
	"the generator (send lag p99 over a quarter of the SLO's bound, or its CPU at 90% of the cores), " +
	"Redis (90% of its one core), a connection pool (a tenth of the requests waited: Redis's, then the database's), " +
	"PostgreSQL (its backends at 90% of the cores, or its time per query over twice the first step's and over 1 ms), " +
	"a server instance (90% of the cores), the machine (the run's processes together at 90% of the cores)"

// bottleneck applies BottleneckRule to a search's steps. With no resource at its mark in any
// step, it names "none" and gives the busiest resources at the knee (the first step that
// missed, else the last).
func bottleneck(cs *summary.CapacitySearch) *summary.Bottleneck {
	steps := slices.Clone(cs.Steps)
	slices.SortStableFunc(steps, func(a, b summary.SearchStep) int { return cmp.Compare(a.OfferedRPS, b.OfferedRPS) })
	bound := cs.SLOMS
	cores := float64(max(cs.Cores, 1))
	base := baseDBMS(steps)
	for _, st := range steps {
		if name, ev := saturatedAt(st, bound, cores, base); name != "" {
			return &summary.Bottleneck{Resource: name, AtRPS: st.OfferedRPS, Rule: BottleneckRule, Evidence: append(ev, cpuEvidence(st, cores)...)}
		}
	}
	knee := summary.SearchStep{}
	for _, st := range cs.Steps {
		knee = st
		if !st.Held {
			break
		}
	}
	return &summary.Bottleneck{Resource: "none", AtRPS: knee.OfferedRPS, Rule: BottleneckRule,
		Evidence: append([]string{"no resource reached its mark: the latency rose without a saturated CPU or pool (a lock, a sleep such as the database's round trip, a queue)"},
			cpuEvidence(knee, cores)...)}
}

// saturatedAt is the first resource at its mark in step st, in the rule's order.
func saturatedAt(st summary.SearchStep, boundMS, cores, baseDBMS float64) (string, []string) {
	at := fmt.Sprintf(" at %s rps", num(st.OfferedRPS))
	if boundMS > 0 && st.LagP99MS > lagShareOfSLO*boundMS {
		return "generator", []string{fmt.Sprintf("the generator sent late: send lag p99 %s ms%s, over a quarter of the SLO's %s ms", num(st.LagP99MS), at, num(boundMS))}
	}
	r := st.Resources
	if r == nil {
		return "", nil
	}
	if c := r.CPU["harness"]; c >= saturated*cores {
		return "generator", []string{fmt.Sprintf("the harness used %s of %g cores%s", num(c), cores, at)}
	}
	redisCPU := r.CPU["redis"]
	if r.RedisCPU != nil {
		redisCPU = max(redisCPU, *r.RedisCPU)
	}
	if redisCPU >= saturated {
		ev := fmt.Sprintf("Redis used %s of its one core%s", num(redisCPU), at)
		if r.RedisOpsPerS != nil {
			ev += fmt.Sprintf(" (%s commands/s)", num(*r.RedisOpsPerS))
		}
		return "redis", []string{ev}
	}
	if w := r.RedisPoolWaitsPerRequest; w != nil && *w >= poolWaitsShare {
		return "redis-pool", []string{fmt.Sprintf("%s of the requests waited for a Redis connection, %s ms each on average%s", num(*w), num(*r.RedisPoolWaitMSPerReq / *w), at)}
	}
	if w := r.DBPoolWaitsPerRequest; w != nil && *w >= poolWaitsShare {
		return "db-pool", []string{fmt.Sprintf("%s of the requests waited for a database connection, %s ms each on average%s", num(*w), num(*r.DBPoolWaitMSPerReq / *w), at)}
	}
	if c := r.PGCPU; c != nil && *c >= saturated*cores {
		return "db", []string{fmt.Sprintf("PostgreSQL's backends used %s of %g cores%s", num(*c), cores, at)}
	}
	if d := r.DBMSPerQuery; d != nil && baseDBMS > 0 && *d > 2*baseDBMS && *d >= 1 {
		return "db", []string{fmt.Sprintf("PostgreSQL spent %s ms per query%s, over twice the %s ms of the first step", num(*d), at, num(baseDBMS))}
	}
	names := make([]string, 0, len(r.CPU))
	for name := range r.CPU {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if strings.HasPrefix(name, "server-") && r.CPU[name] >= saturated*cores {
			return name, []string{fmt.Sprintf("%s used %s of %g cores%s", name, num(r.CPU[name]), cores, at)}
		}
	}
	ours := 0.0
	for _, c := range r.CPU {
		ours += c
	}
	if ours >= saturated*cores {
		return "machine", []string{fmt.Sprintf("the run's processes together used %s of the machine's %g cores%s: they share them", num(ours), cores, at)}
	}
	return "", nil
}

// baseDBMS is PostgreSQL's time per query at the lowest offered rate that measured it; 0 when
// none did.
func baseDBMS(steps []summary.SearchStep) float64 {
	for _, st := range steps {
		if r := st.Resources; r != nil && r.DBMSPerQuery != nil && *r.DBMSPerQuery > 0 {
			return *r.DBMSPerQuery
		}
	}
	return 0
}

// cpuEvidence lists every process's cores at a step, busiest first, and the machine.
func cpuEvidence(st summary.SearchStep, cores float64) []string {
	r := st.Resources
	if r == nil {
		return nil
	}
	names := make([]string, 0, len(r.CPU))
	for name := range r.CPU {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		if r.CPU[a] != r.CPU[b] {
			if r.CPU[a] > r.CPU[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %s", n, num(r.CPU[n])))
	}
	ev := []string{fmt.Sprintf("at %s rps, cores used: %s; the machine's %g cores %s busy", num(st.OfferedRPS), strings.Join(parts, ", "), cores, pct(r.MachineBusy))}
	ours := 0.0
	for _, c := range r.CPU {
		ours += c
	}
	if r.MachineBusy >= saturated && ours < saturated*r.MachineBusy*cores {
		ev = append(ev, fmt.Sprintf("other processes kept the machine busy (%s of its cores besides the run's): a quieter machine would hold more", num(r.MachineBusy*cores-ours)))
	}
	if r.RedisOpsPerS != nil && r.RedisCPU != nil {
		ev = append(ev, fmt.Sprintf("Redis (INFO): %s commands/s, %s of a core", num(*r.RedisOpsPerS), num(*r.RedisCPU)))
	}
	if r.RedisPoolWaitsPerRequest != nil {
		ev = append(ev, fmt.Sprintf("pool waits per request: Redis %s, database %s", num(*r.RedisPoolWaitsPerRequest), num(*r.DBPoolWaitsPerRequest)))
	}
	if r.PGCPU != nil {
		e := fmt.Sprintf("PostgreSQL's backends: %s cores", num(*r.PGCPU))
		if r.DBMSPerQuery != nil {
			e += fmt.Sprintf(", %s ms per query", num(*r.DBMSPerQuery))
		}
		ev = append(ev, e)
	}
	return ev
}

// sloBoundMS is the SLO's latency bound in ms (0 when it cannot be read).
func sloBoundMS(slo string) float64 {
	s, err := scenarios.ParseSLO(slo)
	if err != nil {
		return 0
	}
	return ms(s.Max)
}

func num(x float64) string { return render.Sig(x, 3) }

func pct(x float64) string { return render.Percent(x) }
