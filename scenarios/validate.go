package scenarios

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/strictyaml"
)

// Error is one problem in a scenario (strictyaml.Error: File as shown, the path or
// scenarios/NAME.yaml for a built-in; Line 0 for a scenario built in code; Field e.g.
// "mix[2].weight"), rendered FILE:LINE: FIELD: MSG. Parse, Load and Validate return every
// problem at once, joined with errors.Join; errors.As finds the first.
type Error = strictyaml.Error

// Limits on sizes, beyond which a value is taken for a typo.
const (
	maxUsers         = 1_000_000
	maxServers       = 16
	maxConversations = 1_000
	maxMessages      = 10_000
	maxSteps         = 1_000
)

// validName reports whether a scenario name is 1-64 of [A-Za-z0-9._-]: it becomes part of
// a report directory's name.
func validName(name string) bool {
	if len(name) < 1 || len(name) > 64 {
		return false
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// Validate checks the scenario whole (after a change in code, e.g. a -duration flag) and
// returns every problem at once; lines are named when the scenario was parsed from a file.
func (s *Scenario) Validate() error {
	p := problems{file: displayName(s.Source), lines: s.lines}
	p.check(s)
	return p.err()
}

// Problem is a problem of one field found outside this package (a threshold expression
// that package threshold cannot parse, say), placed at the field's file and line.
func (s *Scenario) Problem(field string, err error) *Error {
	p := problems{file: displayName(s.Source), lines: s.lines}
	return &Error{File: p.file, Line: p.lineOf(field), Field: field, Msg: err.Error()}
}

// problems collects the problems of one source.
type problems struct {
	file  string
	lines map[string]int  // field path → line
	bad   map[string]bool // fields already reported while decoding: no second message
	list  []*Error
}

// add reports a problem with a field, at the field's line or the nearest enclosing one's.
func (p *problems) add(field, format string, args ...any) {
	for f := field; f != ""; f = parent(f) {
		if p.bad[f] {
			return
		}
	}
	p.list = append(p.list, &Error{File: p.file, Line: p.lineOf(field), Field: field, Msg: fmt.Sprintf(format, args...)})
}

// lineOf is the line of a field, or of its nearest enclosing field that has one.
func (p *problems) lineOf(field string) int {
	for f := field; ; f = parent(f) {
		if l, ok := p.lines[f]; ok {
			return l
		}
		if f == "" {
			return 0
		}
	}
}

// err joins the problems, in line order (stable), or is nil.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	slices.SortStableFunc(p.list, func(a, b *Error) int { return a.Line - b.Line })
	errs := make([]error, len(p.list))
	for i, e := range p.list {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// parent is the enclosing field of a path: "mix[2].weight" → "mix[2]" → "mix" → "".
func parent(field string) string {
	i := strings.LastIndexAny(field, ".[")
	if i < 0 {
		return ""
	}
	return field[:i]
}

// check runs every semantic rule over s.
func (p *problems) check(s *Scenario) {
	if !validName(s.Name) {
		p.add("name", "%q must be 1-64 letters, digits, '.', '_' or '-'", s.Name)
	}
	if strings.ContainsAny(s.Description, "\r\n") {
		p.add("description", "must be one line")
	}
	if s.Warmup < 0 {
		p.add("warmup", "must be >= 0, got %s", s.Warmup)
	}
	if s.Duration <= 0 {
		p.add("duration", "must be > 0, got %s", s.Duration)
	}
	p.checkRate(s.Rate)
	p.checkPopulation(s)
	p.checkKeys(s.Keys)
	p.checkMix(s.Mix)
	if s.DB.Latency < 0 {
		p.add("db.latency", "must be >= 0, got %s", s.DB.Latency)
	}
	if s.DB.Jitter < 0 {
		p.add("db.jitter", "must be >= 0, got %s", s.DB.Jitter)
	}
	if s.ReadOnly && !slices.ContainsFunc(s.Mix, func(m MixEntry) bool {
		rt, ok := LookupRoute(m.Method, m.Path)
		return m.Weight > 0 && (m.Attack != "" || m.Own && m.Method == "GET" || ok && !rt.Write)
	}) {
		p.add("writes", "false leaves the mix without a read: every weighted route writes")
	}
	p.checkServers(s)
	p.checkClients(s.Clients)
	p.checkRedis(s.Redis)
	p.checkFaults(s.Faults, s.Duration, s.Servers)
	if s.Rate.Searching() {
		p.checkSearchScenario(s)
	}
	if s.Deploy != nil {
		p.checkDeploy(*s.Deploy)
	}
	p.checkNodes(s.Faults, s.Redis.Cluster)
	for i, t := range s.Thresholds {
		f := fmt.Sprintf("thresholds[%d]", i)
		switch {
		case strings.TrimSpace(t) == "":
			p.add(f, "is empty (want e.g. \"errors == 0\")")
		case !strings.ContainsAny(t, "<>=!"):
			p.add(f, "%q has no comparison (want e.g. \"errors == 0\")", t)
		}
	}
	for _, a := range s.Aborts {
		if a.Grace < 0 {
			p.add(fmt.Sprintf("thresholds[%d].grace", a.Threshold), "must be >= 0, got %s", a.Grace)
		}
	}
}

// minSearchHits is the fewest requests the judged part of a search's first step must hold,
// so that its quantiles mean something.
const minSearchHits = 20

// checkSearch checks a search rate's own fields.
func (p *problems) checkSearch(r Rate) {
	s := r.Search.Effective()
	if _, err := ParseSLO(r.Search.SLO); err != nil {
		p.add("rate.slo", "%v", err)
	}
	if !rps(r.From, true) {
		p.add("rate.from", "%s, got %g", rateRange(true), r.From)
	}
	if !rps(r.To, true) || r.To <= r.From {
		p.add("rate.to", "must be > from (%g) and <= %g, got %g", r.From, MaxRPS, r.To)
	}
	if !(s.Factor > 1 && s.Factor <= 10) {
		p.add("rate.factor", "must be > 1 and <= 10 (the climb's ratio from one step to the next), got %g", s.Factor)
	}
	if !(s.Resolution > 0 && s.Resolution < 1) {
		p.add("rate.resolution", "must be > 0 and < 1 (e.g. 0.1: narrow down to within 10%%), got %g", s.Resolution)
	}
	if s.StepDuration <= 0 {
		p.add("rate.step_duration", "must be > 0, got %s", s.StepDuration)
	} else if r.From > 0 && r.From*s.StepDuration.Seconds() < minSearchHits {
		p.add("rate.step_duration", "%s at from: %g rps is %.0f requests: a step needs at least %d to judge", s.StepDuration, r.From, r.From*s.StepDuration.Seconds(), minSearchHits)
	}
	if s.Settle < 0 {
		p.add("rate.settle", "must be >= 0, got %s", s.Settle)
	}
}

// checkSearchScenario checks what a capacity search needs of the rest of the scenario: its
// duration, the cap on the search, holds at least one step, and nothing disturbs the steps.
func (p *problems) checkSearchScenario(s *Scenario) {
	st := s.Rate.Search.Effective()
	if step := st.StepDuration + st.Settle; s.Duration > 0 && st.StepDuration > 0 && st.Settle >= 0 && s.Duration < step {
		p.add("duration", "%s is shorter than one step of the search (settle %s + step_duration %s): the duration caps the search", s.Duration, st.Settle, st.StepDuration)
	}
	if len(s.Faults) > 0 {
		p.add("faults", "a capacity search (rate.shape search) runs no faults: its steps must be comparable")
	}
}

// rps reports whether x is a usable rate: finite, >= 0 (> 0 when positive) and at most MaxRPS.
func rps(x float64, positive bool) bool {
	if positive && !(x > 0) {
		return false
	}
	return x >= 0 && x <= MaxRPS
}

// rateRange describes what rps accepts, for messages.
func rateRange(positive bool) string {
	if positive {
		return fmt.Sprintf("must be > 0 and <= %g", MaxRPS)
	}
	return fmt.Sprintf("must be >= 0 and <= %g", MaxRPS)
}

func (p *problems) checkRate(r Rate) {
	switch r.Shape {
	case ShapeConstant, "":
		if !rps(r.RPS, true) {
			p.add("rate.rps", "%s, got %g", rateRange(true), r.RPS)
		}
	case ShapeLinear:
		if !rps(r.From, false) {
			p.add("rate.from", "%s, got %g", rateRange(false), r.From)
		}
		if !rps(r.To, false) {
			p.add("rate.to", "%s, got %g", rateRange(false), r.To)
		}
		if r.From == 0 && r.To == 0 {
			p.add("rate.to", "from and to must not both be 0")
		}
	case ShapeSine:
		if !rps(r.Mean, true) {
			p.add("rate.mean", "%s, got %g", rateRange(true), r.Mean)
		}
		switch {
		case !rps(r.Amp, false):
			p.add("rate.amp", "%s, got %g", rateRange(false), r.Amp)
		case r.Amp > r.Mean:
			p.add("rate.amp", "must not exceed mean (%g), or the rate would go below 0", r.Mean)
		}
		if r.Period <= 0 {
			p.add("rate.period", "must be > 0, got %s", r.Period)
		}
	case ShapeSteps:
		if len(r.Steps) == 0 {
			p.add("rate.steps", "must have at least one step")
		}
		if len(r.Steps) > maxSteps {
			p.add("rate.steps", "has %d steps, at most %d allowed", len(r.Steps), maxSteps)
		}
		sends := false
		for i, st := range r.Steps {
			if !rps(st.RPS, false) {
				p.add(fmt.Sprintf("rate.steps[%d].rps", i), "%s, got %g", rateRange(false), st.RPS)
			}
			sends = sends || st.RPS > 0
			if i < len(r.Steps)-1 && st.For <= 0 {
				p.add(fmt.Sprintf("rate.steps[%d].for", i), "must be > 0, got %s", st.For)
			}
			if st.For < 0 {
				p.add(fmt.Sprintf("rate.steps[%d].for", i), "must be >= 0, got %s", st.For)
			}
		}
		if len(r.Steps) > 0 && !sends {
			p.add("rate.steps", "every step has rps 0: nothing would be sent")
		}
	case ShapeMax:
		if r.Workers < 1 || r.Workers > MaxWorkers {
			p.add("rate.workers", "must be between 1 and %d, got %d", MaxWorkers, r.Workers)
		}
	case ShapeSearch:
		p.checkSearch(r)
	default:
		p.add("rate.shape", "%q is not one of %s", r.Shape, strings.Join([]string{ShapeConstant, ShapeLinear, ShapeSine, ShapeSteps, ShapeMax, ShapeSearch}, ", "))
	}
}

func (p *problems) checkPopulation(s *Scenario) {
	pop := s.Population
	if pop.Users < 1 || pop.Users > maxUsers {
		p.add("population.users", "must be between 1 and %d, got %d", maxUsers, pop.Users)
	}
	tiers := []struct {
		name  string
		share float64
	}{{"free", pop.Tiers.Free}, {"core", pop.Tiers.Core}, {"studio", pop.Tiers.Studio}}
	ok := true
	for _, t := range tiers {
		if !(t.share >= 0) || math.IsInf(t.share, 0) {
			p.add("population.tiers."+t.name, "must be a finite number >= 0, got %g", t.share)
			ok = false
		}
	}
	if ok && pop.Tiers.Free+pop.Tiers.Core+pop.Tiers.Studio <= 0 {
		p.add("population.tiers", "shares must sum to > 0")
	}
	minConv, why := 0, ""
	minUsers, whyUsers := 1, ""
	for _, m := range s.Mix {
		switch {
		case strings.Contains(m.Path, "{id}"):
			minConv, why = 1, " (the mix uses {id}, one of the caller's conversations)"
		case AttackNeedsConversations(m.Attack) && slices.Contains(AttackKinds(), m.Attack) && minConv == 0:
			minConv, why = 1, " (attack "+m.Attack+" uses the users' conversations)"
		}
		if AttackNeedsOthers(m.Attack) && minUsers < 2 {
			minUsers, whyUsers = 2, " (attack "+m.Attack+" targets other users)"
		}
	}
	if pop.Users >= 1 && pop.Users < minUsers {
		p.add("population.users", "must be at least %d, got %d%s", minUsers, pop.Users, whyUsers)
	}
	if pop.Conversations < minConv || pop.Conversations > maxConversations {
		p.add("population.conversations", "must be between %d and %d, got %d%s", minConv, maxConversations, pop.Conversations, why)
	}
	if pop.Messages < 0 || pop.Messages > maxMessages {
		p.add("population.messages", "must be between 0 and %d, got %d", maxMessages, pop.Messages)
	}
}

func (p *problems) checkKeys(k Keys) {
	switch k.Distribution {
	case DistUniform, "":
	case DistZipf:
		if !(k.S > 0) || math.IsInf(k.S, 0) {
			p.add("keys.s", "must be a finite number > 0, got %g", k.S)
		}
	case DistHotspot:
		if !(k.Fraction > 0 && k.Fraction < 1) {
			p.add("keys.fraction", "must be in (0, 1), got %g", k.Fraction)
		}
		if !(k.Share > 0 && k.Share < 1) {
			p.add("keys.share", "must be in (0, 1), got %g", k.Share)
		}
	default:
		p.add("keys.distribution", "%q is not one of %s", k.Distribution, strings.Join([]string{DistUniform, DistZipf, DistHotspot}, ", "))
	}
}

// knownRoutes lists the routes for messages: "GET /api/me, GET /api/me/tier, …".
func knownRoutes() string {
	var names []string
	for _, r := range Routes() {
		names = append(names, r.Method+" "+r.Path)
	}
	return strings.Join(names, ", ")
}

func (p *problems) checkMix(mix []MixEntry) {
	if len(mix) == 0 {
		p.add("mix", "must have at least one entry")
	}
	for i, m := range mix {
		f := fmt.Sprintf("mix[%d]", i)
		switch {
		case m.Attack != "":
			p.checkAttack(f, m)
		case p.bad[f+".attack"]: // an attack that was not a text: no route to check
		case m.Own:
			p.checkOwn(f, m)
		case !knownRoute(m):
			req := m.Req
			if req == "" {
				req = m.Method + " " + m.Path
			}
			p.add(f+".req", "unknown route %q (known: %s)", req, knownRoutes())
		case m.Query != "" && m.Method != "GET":
			p.add(f+".req", "a query is only allowed on GET routes")
		}
		if !(m.Weight > 0) || math.IsInf(m.Weight, 0) {
			p.add(f+".weight", "must be > 0")
		}
		if m.Attack != "" && len(m.Expect) > 0 {
			p.add(f+".expect", "not allowed with attack (each attack kind expects its own statuses)")
			continue
		}
		for j, st := range m.Expect {
			if st < 100 || st > 599 {
				p.add(fmt.Sprintf("%s.expect[%d]", f, j), "%d is not an HTTP status (100-599)", st)
			}
		}
	}
}

// ownMethods are the methods of an own route.
var ownMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// checkOwn checks a mix entry naming one of the target's own routes.
func (p *problems) checkOwn(f string, m MixEntry) {
	if !slices.Contains(ownMethods, m.Method) {
		p.add(f+".req", "method %s: an own route is one of %s", m.Method, strings.Join(ownMethods, ", "))
	}
	if m.Query != "" && m.Method != "GET" {
		p.add(f+".req", "a query is only allowed on GET routes")
	}
	if m.Method == "GET" && (len(m.Changes) > 0 || m.Body != "") {
		p.add(f+".changes", "only a write (POST, PUT, PATCH, DELETE) changes reads or has a body")
	}
	have := append(Placeholders(m.Path+"?"+m.Query+" "+m.Body), "user")
	for j, c := range m.Changes {
		method, path, _ := strings.Cut(c, " ")
		switch {
		case method != "GET" || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " ?"):
			p.add(fmt.Sprintf("%s.changes[%d]", f, j), `%q is not "GET /path" (e.g. "GET /v1/items/{item}")`, c)
		case !OwnRoute(path):
			p.add(fmt.Sprintf("%s.changes[%d]", f, j), "%q: only reads of your own routes (outside /api/) can be declared", c)
		default:
			for _, ph := range Placeholders(path) {
				if !slices.Contains(have, ph) {
					p.add(fmt.Sprintf("%s.changes[%d]", f, j), "{%s} is not a placeholder of the write (it has %s): the read it changes must be known from the write", ph, strings.Join(have, ", "))
				}
			}
		}
	}
}

// checkAttack checks a mix entry that names an attack kind.
func (p *problems) checkAttack(f string, m MixEntry) {
	if !slices.Contains(AttackKinds(), m.Attack) {
		p.add(f+".attack", "%q is not one of %s", m.Attack, strings.Join(AttackKinds(), ", "))
	}
	if m.Req != "" || m.Method != "" || m.Path != "" || m.Query != "" {
		p.add(f+".attack", "give either req or attack, not both")
	}
}

// knownRoute reports whether a mix entry names one of Routes().
func knownRoute(m MixEntry) bool {
	_, ok := LookupRoute(m.Method, m.Path)
	return ok
}

// checkServers checks the instance count and the pins against it.
func (p *problems) checkServers(s *Scenario) {
	if s.Servers < 0 || s.Servers > maxServers {
		p.add("servers", "must be between 1 and %d, got %d", maxServers, s.Servers)
		return
	}
	n := max(s.Servers, 1)
	for _, x := range []struct {
		field string
		v     int
	}{{"pin.writes", s.Pin.Writes}, {"pin.reads", s.Pin.Reads}} {
		if x.v < 0 || x.v > n {
			p.add(x.field, "must name an instance 1…%d (servers: %d), or 0 for round-robin; got %d", n, n, x.v)
		}
	}
}

func (p *problems) checkRedis(r RedisSpec) {
	if r.Persistence != "" && r.Persistence != PersistenceNone && r.Persistence != PersistenceAOF {
		p.add("redis.persistence", "%q is not one of none, aof", r.Persistence)
	}
	c := r.Cluster
	if c == nil {
		return
	}
	if c.Masters < 1 || c.Masters > 16 {
		p.add("redis.cluster.masters", "must be 1…16, got %d", c.Masters)
	}
	if c.Replicas < 0 || c.Replicas > 4 {
		p.add("redis.cluster.replicas", "must be 0…4, got %d", c.Replicas)
	}
	if c.NodeTimeout < 100*time.Millisecond {
		p.add("redis.cluster.nodeTimeout", "must be >= 100ms, got %s", c.NodeTimeout)
	}
}

// checkNodes checks the node of each fault: a well-formed name, one the scenario's cluster
// has (when it declares one), and present for failover.
func (p *problems) checkNodes(faults []Fault, c *ClusterSpec) {
	for i, ft := range faults {
		f := fmt.Sprintf("faults[%d].node", i)
		if ft.Node == "" {
			if ft.Do == FaultFailover {
				p.add(f, "required for failover (the shard's master or the replica to promote, e.g. master-1)")
			}
			if ft.Do == FaultLagReplica {
				p.add(f, "required for lag-replica (the replica that falls behind, e.g. replica-1)")
			}
			continue
		}
		if !ValidNodeName(ft.Node) {
			p.add(f, "%q is not a node name (want master-N or replica-N)", ft.Node)
			continue
		}
		if ft.Do == FaultLagReplica && !strings.HasPrefix(ft.Node, "replica-") {
			p.add(f, "lag-replica acts on a replica (replica-N), got %q", ft.Node)
			continue
		}
		if c == nil {
			continue // -redis cluster may supply one; the stack checks the name then
		}
		if n, ok := strings.CutPrefix(ft.Node, "master-"); ok {
			if i, _ := strconv.Atoi(n); i > c.Masters {
				p.add(f, "%q: the cluster has %d masters", ft.Node, c.Masters)
			}
		} else if n, ok := strings.CutPrefix(ft.Node, "replica-"); ok {
			if i, _ := strconv.Atoi(n); i > c.Masters*c.Replicas {
				p.add(f, "%q: the cluster has %d replicas", ft.Node, c.Masters*c.Replicas)
			}
		}
	}
}

func (p *problems) checkFaults(faults []Fault, duration time.Duration, servers int) {
	for i, ft := range faults {
		f := fmt.Sprintf("faults[%d]", i)
		switch {
		case ft.Server != 0 && ft.Do == FaultRollingRestart:
			p.add(f+".server", "rolling-restart restarts every instance in turn (restart-server {server: N} restarts one)")
		case ft.Server != 0 && !slices.Contains(PerServerVerbs(), ft.Do):
			p.add(f+".server", "only for %s (%s acts on the shared Redis)", strings.Join(PerServerVerbs(), ", "), ft.Do)
		case ft.Server < 0 || ft.Server > max(servers, 1):
			p.add(f+".server", "must name an instance 1…%d (servers: %d), got %d", max(servers, 1), servers, ft.Server)
		case ft.Server == 0 && slices.Contains(ServerVerbs(), ft.Do):
			p.add(f+".server", "%s needs the instance it acts on (server: 1…%d)", ft.Do, max(servers, 1))
		}
		if i > 0 && ft.At < faults[i-1].At {
			p.add(f+".at", "%s is before faults[%d].at (%s): list faults in time order", ft.At, i-1, faults[i-1].At)
		}
		if !slices.Contains(FaultVerbs(), ft.Do) {
			p.add(f+".do", "%q is not one of %s", ft.Do, strings.Join(FaultVerbs(), ", "))
		}
		switch {
		case ft.At < 0:
			p.add(f+".at", "must be >= 0, got %s", ft.At)
		case duration > 0 && ft.At > duration:
			p.add(f+".at", "%s is beyond duration %s (offsets count from the end of warm-up)", ft.At, duration)
		}
		if ft.Do == FaultSlowRedis {
			if ft.Latency <= 0 {
				p.add(f+".latency", "must be > 0 for slow-redis, got %s", ft.Latency)
			}
			if ft.Jitter < 0 {
				p.add(f+".jitter", "must be >= 0, got %s", ft.Jitter)
			}
		} else {
			if ft.Latency != 0 {
				p.add(f+".latency", "only for slow-redis")
			}
			if ft.Jitter != 0 {
				p.add(f+".jitter", "only for slow-redis")
			}
		}
		if ft.Do == FaultRollingRestart {
			if ft.Interval < 0 {
				p.add(f+".interval", "must be >= 0, got %s", ft.Interval)
			}
		} else if ft.Interval != 0 {
			p.add(f+".interval", "only for rolling-restart")
		}
		if ft.Do == FaultFlapRedis {
			if ft.Period <= 0 {
				p.add(f+".period", "must be > 0 for flap-redis, got %s", ft.Period)
			}
		} else if ft.Period != 0 {
			p.add(f+".period", "only for flap-redis")
		}
	}
}

// checkDeploy checks the deploy section: no negative durations, and a shutdown delay longer
// than the readiness period (else the harness's balancer cannot notice an instance stopping
// before its listener closes).
func (p *problems) checkDeploy(d Deploy) {
	for _, x := range []struct {
		name string
		v    time.Duration
	}{{"readyPeriod", d.ReadyPeriod}, {"shutdownDelay", d.ShutdownDelay}, {"drainTimeout", d.DrainTimeout}, {"firstWindow", d.FirstWindow}} {
		if x.v < 0 {
			p.add("deploy."+x.name, "must be >= 0 (0: the default), got %s", x.v)
		}
	}
	if e := d.WithDefaults(); e.ShutdownDelay <= e.ReadyPeriod && d.ShutdownDelay >= 0 && d.ReadyPeriod >= 0 {
		p.add("deploy.shutdownDelay", "%s must be longer than deploy.readyPeriod (%s): the balancer must notice that an instance is stopping before its listener closes", e.ShutdownDelay, e.ReadyPeriod)
	}
}
