package claims

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/stats"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/threshold"
)

// Schema is the value of Scorecard.Schema (JSON Schema: schema.json beside this file).
const Schema = "atlasbench/claims/v1"

// Verdict is a claim's outcome.
type Verdict string

// The verdicts.
const (
	Holds       Verdict = "HOLDS"
	Fails       Verdict = "FAILS"
	NotMeasured Verdict = "NOT MEASURED"
	// Inconclusive is a claim whose only failing or passing figures are latency measured
	// while a run's load generator was saturated (summary.Summary.Inconclusive), and none
	// of its other checks failed.
	Inconclusive Verdict = "INCONCLUSIVE"
)

// Result is one run as the caller ran it: its directory and summary, or the error that kept
// it from producing one.
type Result struct {
	Run     Run
	Dir     string
	Summary *summary.Summary
	Err     error
}

// Scorecard is the whole answer: one row per claim, the runs behind them.
type Scorecard struct {
	Schema      string       `json:"schema"`
	Started     time.Time    `json:"started"`
	Quick       bool         `json:"quick"`
	Layer       string       `json:"layer"`         // the cache config under test
	Dir         string       `json:"dir,omitempty"` // the scorecard's directory; the runs' directories are inside it
	Calibration *Calibration `json:"calibration,omitempty"`
	Rows        []Row        `json:"claims"`
	Runs        []RunRecord  `json:"runs"`
	Holds       int          `json:"holds"`
	Fails       int          `json:"fails"`
	NotMeasured int          `json:"not_measured"`
	// Inconclusive counts the claims whose latency was measured on a saturated generator.
	Inconclusive int `json:"inconclusive,omitempty"`
	// Pass is true when every measured claim holds.
	Pass bool `json:"pass"`
}

// Row is one claim's verdict with its figures and evidence.
type Row struct {
	ID       string        `json:"id"`
	Quote    string        `json:"quote"`
	Figure   string        `json:"figure"`
	Verdict  Verdict       `json:"verdict"`
	Reason   string        `json:"reason,omitempty"` // why NOT MEASURED, or which check failed
	Measured string        `json:"measured"`         // the figures, for people
	Checks   []CheckResult `json:"checks,omitempty"`
	Shown    []Shown       `json:"shown,omitempty"`
	Evidence []Evidence    `json:"evidence,omitempty"`
	Sweep    *SweepResult  `json:"sweep,omitempty"`
}

// CheckResult is one check evaluated.
type CheckResult struct {
	Run      string  `json:"run"`
	Expr     string  `json:"expr"` // as evaluated (a Versus limit written in)
	Value    float64 `json:"value"`
	Display  string  `json:"display"`            // the value in its unit: "84.2%", "3.1ms"
	Interval string  `json:"interval,omitempty"` // over the run's repeats, when it had several
	Pass     bool    `json:"pass"`
	Error    string  `json:"error,omitempty"`
	// Inconclusive says why a latency check (threshold.Path.Latency) is not judged: its
	// run's load generator was saturated.
	Inconclusive string `json:"inconclusive,omitempty"`
}

// Shown is a figure printed beside a verdict.
type Shown struct {
	Label   string  `json:"label"`
	Run     string  `json:"run"`
	Path    string  `json:"path"`
	Value   float64 `json:"value"`
	Display string  `json:"display"` // "—" when the run lacks the figure
}

// Evidence is a run a row read: its directory and summary.json.
type Evidence struct {
	Run      string `json:"run"`
	Describe string `json:"describe"`
	Dir      string `json:"dir"`
	Summary  string `json:"summary"`
}

// RunRecord is one run of the scorecard.
type RunRecord struct {
	Name     string       `json:"name"`
	Describe string       `json:"describe"`
	Scenario string       `json:"scenario"`
	Config   string       `json:"config"`
	Mode     summary.Mode `json:"mode"`
	Dir      string       `json:"dir,omitempty"`
	Summary  string       `json:"summary,omitempty"`
	Error    string       `json:"error,omitempty"`
}

// Evaluate computes every selected claim's verdict from the runs' summaries.
func Evaluate(o Options, results []Result) (*Scorecard, error) {
	claims, err := Select(Table(), o.Only)
	if err != nil {
		return nil, err
	}
	byName := map[string]*Result{}
	sc := &Scorecard{Schema: Schema, Started: time.Now().UTC(), Quick: o.Quick, Layer: or(o.Layer, "default"), Dir: o.Dir}
	for i := range results {
		r := &results[i]
		byName[r.Run.Name] = r
		rec := RunRecord{Name: r.Run.Name, Describe: r.Run.Describe, Config: r.Run.Config, Mode: r.Run.Mode, Dir: r.Dir}
		if r.Run.Scenario != nil {
			rec.Scenario = r.Run.Scenario.Name
		}
		if r.Summary != nil {
			rec.Summary = summaryPath(r.Dir)
		}
		if r.Err != nil {
			rec.Error = r.Err.Error()
		}
		sc.Runs = append(sc.Runs, rec)
	}
	for _, c := range claims {
		row := evaluate(c, byName, o)
		switch row.Verdict {
		case Holds:
			sc.Holds++
		case Fails:
			sc.Fails++
		case Inconclusive:
			sc.Inconclusive++
		default:
			sc.NotMeasured++
		}
		sc.Rows = append(sc.Rows, row)
	}
	sc.Pass = sc.Fails == 0
	return sc, nil
}

func summaryPath(dir string) string {
	if dir == "" {
		return ""
	}
	return strings.TrimSuffix(dir, "/") + "/" + summary.FileName
}

// evaluate judges one claim.
func evaluate(c Claim, runs map[string]*Result, o Options) Row {
	row := Row{ID: c.ID, Quote: c.Quote, Figure: c.Figure}
	if len(c.Checks) == 0 {
		row.Verdict, row.Reason, row.Measured = NotMeasured, c.Missing, "—"
		return row
	}
	names := c.Runs()
	for i := 1; c.Sweep != nil && runs[fmt.Sprintf("%s%d", SweepPrefix, i)] != nil; i++ {
		names = append(names, fmt.Sprintf("%s%d", SweepPrefix, i))
	}
	for _, name := range names {
		if r := runs[name]; r != nil {
			row.Evidence = append(row.Evidence, Evidence{Run: name, Describe: r.Run.Describe, Dir: r.Dir, Summary: summaryPath(r.Dir)})
		}
	}
	var missing, failed, inconclusive []string
	for _, ch := range c.Checks {
		cr := check(ch, runs)
		row.Checks = append(row.Checks, cr)
		switch {
		case cr.Inconclusive != "":
			inconclusive = append(inconclusive, fmt.Sprintf("%s: %s measured %s: %s", ch.Run, cr.Expr, cr.Display, cr.Inconclusive))
		case cr.Error != "":
			missing = append(missing, cr.Error)
		case !cr.Pass:
			failed = append(failed, fmt.Sprintf("%s: %s measured %s", ch.Run, cr.Expr, cr.Display))
		}
	}
	for _, s := range c.Show {
		sh := Shown{Label: or(s.Label, s.Path), Run: s.Run, Path: s.Path, Display: "—"}
		if v, err := resolve(runs, s); err == nil {
			sh.Value, sh.Display = v, format(s.Path, v)
		}
		row.Shown = append(row.Shown, sh)
	}
	row.Measured = measured(row)
	// One failing check refutes the claim, whatever its other checks could not measure; a
	// claim holds only when every check was measured and passed.
	switch {
	case len(failed) > 0:
		row.Verdict, row.Reason = Fails, strings.Join(append(failed, missing...), "; ")
	case len(missing) > 0:
		row.Verdict, row.Reason = NotMeasured, strings.Join(missing, "; ")
	case len(inconclusive) > 0:
		row.Verdict, row.Reason = Inconclusive, strings.Join(inconclusive, "; ")
	default:
		row.Verdict = Holds
	}
	if c.Sweep != nil {
		row.Sweep = sweep(c, runs, o)
	}
	return row
}

// check evaluates one check over its run's summary.
func check(ch Check, runs map[string]*Result) CheckResult {
	cr := CheckResult{Run: ch.Run, Expr: ch.Expr}
	r := runs[ch.Run]
	switch {
	case r == nil:
		cr.Error = "run " + ch.Run + " did not run"
		return cr
	case r.Summary == nil:
		cr.Error = "run " + ch.Run + " produced no summary"
		if r.Err != nil {
			cr.Error += ": " + r.Err.Error()
		}
		return cr
	case r.Summary.Interrupted:
		cr.Error = "run " + ch.Run + " was interrupted"
		return cr
	}
	if ch.Versus != nil {
		v, err := resolve(runs, *ch.Versus)
		if err != nil {
			cr.Error = err.Error()
			return cr
		}
		cr.Expr = ch.Expr + " " + strconv.FormatFloat(v, 'g', 4, 64)
	}
	e, err := threshold.Parse(cr.Expr)
	if err != nil {
		cr.Error = err.Error()
		return cr
	}
	v, pass, err := e.Eval(r.Summary)
	if errors.Is(err, threshold.ErrMissing) {
		// The run ran but measured none of the figure (no answer wholly from the cache, no
		// such phase): a verdict about the measurement, not a failed run.
		cr.Error = "run " + ch.Run + " measured none of it: " + err.Error()
		return cr
	}
	if err != nil {
		cr.Error = "run " + ch.Run + ": " + err.Error()
		return cr
	}
	cr.Value, cr.Pass, cr.Display = v, pass, e.Path.Format(v)
	cr.Interval = interval(r.Summary, e.Path)
	if why := r.Summary.Inconclusive; why != "" && e.Path.Latency() {
		cr.Pass, cr.Inconclusive = false, why
	}
	return cr
}

// resolve reads a Ref's figure (times its Scale).
func resolve(runs map[string]*Result, ref Ref) (float64, error) {
	r := runs[ref.Run]
	if r == nil || r.Summary == nil {
		return 0, fmt.Errorf("run %s produced no summary", ref.Run)
	}
	p, err := threshold.ParsePath(ref.Path)
	if err != nil {
		return 0, err
	}
	v, err := p.Resolve(r.Summary)
	if err != nil {
		return 0, fmt.Errorf("run %s: %w", ref.Run, err)
	}
	if ref.Scale != 0 {
		v *= ref.Scale
	}
	return v, nil
}

// format writes v in path's unit.
func format(path string, v float64) string {
	p, err := threshold.ParsePath(path)
	if err != nil {
		return threshold.FormatValue(threshold.UnitNone, v)
	}
	return p.Format(v)
}

// interval is the spread of a figure over the run's repeats: the median's 95% confidence
// interval when there are enough of them, else their range; "" with one repeat.
func interval(s *summary.Summary, p threshold.Path) string {
	vals := s.Samples[p.String()]
	if len(vals) < 2 {
		return ""
	}
	st := stats.Summarize(vals, stats.DefaultConfidence)
	if !math.IsInf(st.Lo, 0) && !math.IsInf(st.Hi, 0) && !math.IsNaN(st.Lo) {
		return fmt.Sprintf("95%% CI %s–%s, n=%d", p.Format(st.Lo), p.Format(st.Hi), st.N)
	}
	return fmt.Sprintf("repeats %s–%s, n=%d", p.Format(slices.Min(vals)), p.Format(slices.Max(vals)), len(vals))
}

// measured is a row's figures in one line: each check's path and value (each path once),
// grouped by run when the checks read several, then the shown figures.
func measured(row Row) string {
	var runs []string
	for _, cr := range row.Checks {
		if !slices.Contains(runs, cr.Run) {
			runs = append(runs, cr.Run)
		}
	}
	var parts []string
	for _, run := range runs {
		var figs []string
		seen := map[string]bool{}
		for _, cr := range row.Checks {
			if cr.Run != run || cr.Error != "" {
				continue
			}
			path, _, _ := strings.Cut(cr.Expr, " ")
			if seen[path] {
				continue
			}
			seen[path] = true
			s := path + " = " + cr.Display
			if cr.Interval != "" {
				s += " (" + cr.Interval + ")"
			}
			figs = append(figs, s)
		}
		switch {
		case len(figs) == 0:
		case len(runs) > 1:
			parts = append(parts, run+": "+strings.Join(figs, ", "))
		default:
			parts = append(parts, strings.Join(figs, "; "))
		}
	}
	for _, sh := range row.Shown {
		parts = append(parts, sh.Label+": "+sh.Display)
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, "; ")
}

// SweepResult is a swept claim: its figure at each sweep point and where it holds.
type SweepResult struct {
	Class  string       `json:"class,omitempty"` // "" for every request
	Path   string       `json:"path"`
	Band   [2]float64   `json:"band"`
	Points []SweepPoint `json:"points"`
	// Boundary is the smallest swept lookups per user per TTL from which the claim holds at
	// every larger swept point; absent when it holds at none.
	Boundary  *float64 `json:"boundary,omitempty"`
	Statement string   `json:"statement"`
	Chart     string   `json:"chart,omitempty"` // the PNG's file name beside claims.md
}

// SweepPoint is one sweep run's figure.
type SweepPoint struct {
	Run   string   `json:"run"`
	Users int      `json:"users"`
	RPS   float64  `json:"rps"`
	TTLS  float64  `json:"ttl_s"`
	X     float64  `json:"x"` // lookups of the class (requests for "") per user per TTL, measured
	Y     float64  `json:"y"`
	Ideal *float64 `json:"ideal,omitempty"`
	Holds bool     `json:"holds"`
}

// sweep evaluates a swept claim over the sweep runs, ordered by X.
func sweep(c Claim, runs map[string]*Result, o Options) *SweepResult {
	sw := c.Sweep
	res := &SweepResult{Class: sw.Class, Path: sw.Path, Band: sw.Band, Chart: "sweep-" + c.ID + ".png", Points: []SweepPoint{}}
	for i := 1; ; i++ {
		r := runs[fmt.Sprintf("%s%d", SweepPrefix, i)]
		if r == nil {
			break
		}
		if p, ok := sweepPoint(r, sw); ok && p.X > 0 { // no lookups of the class: nothing to judge
			res.Points = append(res.Points, p)
		}
	}
	slices.SortFunc(res.Points, func(a, b SweepPoint) int { return cmp.Compare(a.X, b.X) })
	for i := len(res.Points) - 1; i >= 0 && res.Points[i].Holds; i-- {
		x := res.Points[i].X
		res.Boundary = &x
	}
	res.Statement = statement(c, res, runs[RunWorld], o)
	if len(res.Points) == 0 {
		res.Chart = ""
	}
	return res
}

// sweepPoint reads one sweep run: the figure and the lookups per user per TTL it ran at.
func sweepPoint(r *Result, sw *Sweep) (SweepPoint, bool) {
	s := r.Summary
	if s == nil || s.Population == nil || s.Population.Users == 0 || s.Rate.Achieved <= 0 || s.CacheConfig == nil {
		return SweepPoint{}, false
	}
	y, err := resolve(map[string]*Result{r.Run.Name: r}, Ref{Run: r.Run.Name, Path: sw.Path})
	if err != nil {
		return SweepPoint{}, false
	}
	ttl := shortestTTL(s.CacheConfig.TTLSeconds, sw.Class)
	window := float64(s.Requests) / s.Rate.Achieved
	p := SweepPoint{Run: r.Run.Name, Users: s.Population.Users, RPS: s.Rate.Target, TTLS: ttl, Y: y, Holds: y >= sw.Band[0]}
	p.X = perUserPerTTL(lookups(s, sw.Class), window, s.Population.Users, ttl)
	if sw.IdealPath != "" {
		if v, err := resolve(map[string]*Result{r.Run.Name: r}, Ref{Run: r.Run.Name, Path: sw.IdealPath}); err == nil {
			p.Ideal = &v
		}
	}
	return p, true
}

// lookups are the class's cache lookups in the window (every request for "").
func lookups(s *summary.Summary, class string) float64 {
	if class == "" {
		return float64(s.Requests)
	}
	cs := s.CacheStats[class]
	return float64(cs.Hits + cs.Misses + cs.Bypasses)
}

// perUserPerTTL is n events over window seconds, per user, per TTL.
func perUserPerTTL(n, window float64, users int, ttl float64) float64 {
	if window <= 0 || users <= 0 {
		return 0
	}
	return n / window / float64(users) * ttl
}

// shortestTTL is the shortest base TTL of class over the tiers (every class for ""), 0 when none.
func shortestTTL(ttl map[string]map[string]float64, class string) float64 {
	best := 0.0
	for _, classes := range ttl {
		for c, v := range classes {
			if (class == "" || c == class) && v > 0 && (best == 0 || v < best) {
				best = v
			}
		}
	}
	return best
}

// statement says where the claim holds, and what that means for the world's population
// under the default and production TTLs.
func statement(c Claim, res *SweepResult, world *Result, o Options) string {
	what := "requests"
	if res.Class != "" {
		what = res.Class + " lookups"
	}
	claim := fmt.Sprintf("%s ≥ %s", res.Path, threshold.FormatValue(threshold.UnitRatio, res.Band[0]))
	if len(res.Points) == 0 {
		return claim + ": no sweep point was measured"
	}
	lo, hi := res.Points[0].X, res.Points[len(res.Points)-1].X
	if res.Boundary == nil {
		var held []string
		for _, p := range res.Points {
			if p.Holds {
				held = append(held, fmt.Sprintf("%.3g (%s)", p.X, threshold.FormatValue(threshold.UnitRatio, p.Y)))
			}
		}
		top := res.Points[len(res.Points)-1]
		if len(held) == 0 {
			return fmt.Sprintf("%s holds at none of the swept points (%.3g to %.3g %s per user per TTL)", claim, lo, hi, what)
		}
		out := fmt.Sprintf("%s holds at %s %s per user per TTL but not at the largest swept, %.3g (%s", claim, strings.Join(held, ", "), what, top.X,
			threshold.FormatValue(threshold.UnitRatio, top.Y))
		if top.Ideal != nil {
			out += ", the ideal cache " + threshold.FormatValue(threshold.UnitRatio, *top.Ideal)
		}
		return out + "), so no boundary"
	}
	k := *res.Boundary
	out := fmt.Sprintf("%s holds from %.3g %s per user per TTL (swept %.3g to %.3g)", claim, k, what, lo, hi)
	if k == lo {
		out = fmt.Sprintf("%s holds at every swept point, from %.3g %s per user per TTL (the lowest swept)", claim, k, what)
	}
	if world == nil || world.Summary == nil || world.Summary.Requests == 0 || world.Summary.Population == nil {
		return out
	}
	ws := world.Summary
	users := ws.Population.Users
	share := lookups(ws, res.Class) / float64(ws.Requests) // class lookups per request
	if share <= 0 {
		return out
	}
	var at []string
	for _, t := range []struct {
		name string
		ttl  map[string]map[string]float64
	}{{"default", o.TTL}, {"production", o.ProductionTTL}} {
		ttl := shortestTTL(t.ttl, res.Class)
		if ttl <= 0 {
			continue
		}
		rps := k * float64(users) / (ttl * share)
		at = append(at, fmt.Sprintf("≥ %.3g rps with the %s config's shortest %s TTL (%gs)", rps, t.name, or(res.Class, "request"), ttl))
	}
	if len(at) > 0 && res.Class == "" {
		out += fmt.Sprintf("; at %d users (the world) that is %s", users, strings.Join(at, ", "))
	} else if len(at) > 0 {
		out += fmt.Sprintf("; at %d users (the world: %.2f %s per request) that is %s", users, share, what, strings.Join(at, ", "))
	}
	return out
}

// RunFailed lists the claims that have checks but are not measured because a run they read
// did not produce a summary (it failed, or did not run): the environment's fault, not the
// write-up's (bench claims exits 3). A claim whose runs ran but measured none of its figure
// (no GET answered wholly from the cache on a starved machine, a phase that never opened) is
// NOT MEASURED too, with that reason, but is a verdict about the measurement and not listed.
func (s *Scorecard) RunFailed() []string {
	ran := map[string]bool{}
	for _, r := range s.Runs {
		ran[r.Name] = r.Summary != ""
	}
	var out []string
	table := Table()
	for _, r := range s.Rows {
		if r.Verdict != NotMeasured {
			continue
		}
		for _, c := range table {
			if c.ID != r.ID {
				continue
			}
			for _, name := range c.Runs() {
				if !ran[name] {
					out = append(out, r.ID)
					break
				}
			}
		}
	}
	return out
}

// Thresholds are the rows' checks as threshold verdicts, for JUnit XML (threshold.JUnit):
// each check of a measured claim passes or fails with its value; a check that could not be
// evaluated, and a claim without checks, is skipped with the reason.
func (s *Scorecard) Thresholds() []summary.Threshold {
	var out []summary.Threshold
	for _, r := range s.Rows {
		if len(r.Checks) == 0 {
			out = append(out, summary.Threshold{Expr: "claim " + r.ID, Pass: true, NotApplicable: r.Reason})
			continue
		}
		for _, cr := range r.Checks {
			t := summary.Threshold{Expr: cr.Expr, Value: cr.Value, Pass: cr.Pass}
			switch {
			case cr.Error != "":
				t.Pass, t.NotApplicable = true, cr.Error
			case cr.Inconclusive != "":
				t.Inconclusive = cr.Inconclusive
			}
			out = append(out, t)
		}
	}
	return out
}
