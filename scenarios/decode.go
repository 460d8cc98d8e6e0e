package scenarios

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/strictyaml"
	"go.yaml.in/yaml/v3"
)

// Parse reads one scenario from YAML and validates it whole. source names the data in
// Scenario.Source and in messages: a file path, or "builtin:NAME" (shown as
// scenarios/NAME.yaml). The error, if any, joins one *Error per problem.
func Parse(source string, data []byte) (*Scenario, error) {
	d := &decoder{problems: problems{file: displayName(source), bad: map[string]bool{}}}
	d.Walker = strictyaml.New(func(line int, field string, bad bool, msg string) {
		d.fail(line, field, bad, "%s", msg)
	}, 0)
	d.lines = d.Walker.Lines
	s := &Scenario{
		Source:     source,
		Seed:       1,
		Rate:       Rate{Shape: ShapeConstant},
		Population: Population{Users: 1000, Tiers: atlas.DefaultTierMix(), Conversations: 5, Messages: 40},
		Keys:       Keys{Distribution: DistUniform},
	}
	if root := d.Document(data, "empty document (want a mapping with at least duration, rate and mix)",
		"a mapping of scenario fields (name, duration, rate, mix, …)"); root != nil {
		d.scenario(root, s)
		d.check(s)
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	for i := range s.Mix {
		if len(s.Mix[i].Expect) == 0 && s.Mix[i].Attack == "" {
			r, _ := LookupRoute(s.Mix[i].Method, s.Mix[i].Path)
			s.Mix[i].Expect = r.Expect
		}
	}
	s.lines = d.lines
	return s, nil
}

// decoder turns a yaml.Node tree into a Scenario, collecting problems with their lines.
type decoder struct {
	problems
	*strictyaml.Walker // reads the tree (Mapping, Sequence, Scalar); its Lines are problems.lines
}

// fail reports a problem at a line. mark says the field's value is unusable, so the
// semantic checks say nothing more about it.
func (d *decoder) fail(line int, field string, mark bool, format string, args ...any) {
	if line <= 0 {
		line = d.lineOf(field)
	}
	if line <= 0 {
		line = 1
	}
	d.list = append(d.list, &Error{File: d.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
	if mark && field != "" {
		d.bad[field] = true
	}
}

// missing reports a required field that is absent, at its parent's line.
func (d *decoder) missing(field, hint string) {
	d.fail(d.lineOf(field), field, true, "required%s", hint)
}

// str reads a text field.
func (d *decoder) str(n *yaml.Node, field string) (string, bool) {
	if !d.Scalar(n, field, "a text") {
		return "", false
	}
	return n.Value, true
}

// boolean reads true or false.
func (d *decoder) boolean(n *yaml.Node, field string) (bool, bool) {
	if !d.Scalar(n, field, "true or false") {
		return false, false
	}
	switch n.Value {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	d.fail(n.Line, field, true, "%q: want true or false", n.Value)
	return false, false
}

// number reads a finite number.
func (d *decoder) number(n *yaml.Node, field string) (float64, bool) {
	if !d.Scalar(n, field, "a number") {
		return 0, false
	}
	var x float64
	if tag := n.ShortTag(); (tag != "!!int" && tag != "!!float") || n.Decode(&x) != nil {
		d.fail(n.Line, field, true, "%q is not a number", n.Value)
		return 0, false
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		d.fail(n.Line, field, true, "%q is not a finite number", n.Value)
		return 0, false
	}
	return x, true
}

// integer reads a whole number that fits an int.
func (d *decoder) integer(n *yaml.Node, field string) (int, bool) {
	if !d.Scalar(n, field, "a whole number") {
		return 0, false
	}
	var x int
	if n.ShortTag() != "!!int" || n.Decode(&x) != nil {
		d.fail(n.Line, field, true, "%q is not a whole number", n.Value)
		return 0, false
	}
	return x, true
}

// duration reads a duration in Go's syntax (250ms, 10s, 1m30s).
func (d *decoder) duration(n *yaml.Node, field string) (time.Duration, bool) {
	if !d.Scalar(n, field, "a duration (e.g. 30s, 1m)") {
		return 0, false
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		d.fail(n.Line, field, true, "%q is not a duration (want e.g. 30s, 1m)", n.Value)
		return 0, false
	}
	return v, true
}

// scenario reads the root mapping into s.
func (d *decoder) scenario(root *yaml.Node, s *Scenario) {
	f := d.Mapping(root, "", "name", "description", "seed", "warmup", "duration", "rate",
		"population", "keys", "mix", "db", "redis", "faults", "thresholds", "servers", "pin", "clients", "deploy", "writes")
	if n := f["name"]; n != nil {
		s.Name, _ = d.str(n, "name")
	} else {
		s.Name = defaultName(s.Source)
	}
	if n := f["description"]; n != nil {
		s.Description, _ = d.str(n, "description")
	}
	if n := f["seed"]; n != nil {
		if d.Scalar(n, "seed", "a whole number") {
			if n.ShortTag() != "!!int" || n.Decode(&s.Seed) != nil {
				d.fail(n.Line, "seed", true, "%q is not a whole number", n.Value)
			}
		}
	}
	if n := f["warmup"]; n != nil {
		s.Warmup, _ = d.duration(n, "warmup")
	}
	if n := f["duration"]; n != nil {
		s.Duration, _ = d.duration(n, "duration")
	} else {
		d.missing("duration", " (e.g. 60s)")
	}
	if n := f["rate"]; n != nil {
		d.rate(n, &s.Rate)
	} else {
		d.missing("rate", " (e.g. {shape: constant, rps: 100})")
	}
	if n := f["population"]; n != nil {
		d.population(n, &s.Population)
	}
	if n := f["keys"]; n != nil {
		d.keys(n, &s.Keys)
	}
	if n := f["mix"]; n != nil {
		d.mix(n, s)
	} else {
		d.missing("mix", ` (e.g. [{req: "GET /api/me/tier", weight: 1}])`)
	}
	if n := f["db"]; n != nil {
		if g := d.Mapping(n, "db", "latency", "jitter"); g != nil {
			if v := g["latency"]; v != nil {
				s.DB.Latency, _ = d.duration(v, "db.latency")
			}
			if v := g["jitter"]; v != nil {
				s.DB.Jitter, _ = d.duration(v, "db.jitter")
			}
		}
	}
	if n := f["redis"]; n != nil {
		d.redis(n, &s.Redis)
	}
	if n := f["faults"]; n != nil {
		d.faults(n, s)
	}
	if n := f["servers"]; n != nil {
		s.Servers, _ = d.integer(n, "servers")
	}
	if n := f["writes"]; n != nil && d.Scalar(n, "writes", "true or false") {
		var on bool
		if n.ShortTag() != "!!bool" || n.Decode(&on) != nil {
			d.fail(n.Line, "writes", true, "%q is not true or false", n.Value)
		}
		s.ReadOnly = !on
	}
	if n := f["pin"]; n != nil {
		if g := d.Mapping(n, "pin", "writes", "reads"); g != nil {
			if v := g["writes"]; v != nil {
				s.Pin.Writes, _ = d.integer(v, "pin.writes")
			}
			if v := g["reads"]; v != nil {
				s.Pin.Reads, _ = d.integer(v, "pin.reads")
			}
		}
	}
	if n := f["clients"]; n != nil {
		d.clients(n, &s.Clients)
	}
	if n := f["deploy"]; n != nil {
		s.Deploy = &Deploy{}
		if g := d.Mapping(n, "deploy", "readyPeriod", "shutdownDelay", "drainTimeout", "firstWindow"); g != nil {
			for _, x := range []struct {
				name string
				dst  *time.Duration
			}{{"readyPeriod", &s.Deploy.ReadyPeriod}, {"shutdownDelay", &s.Deploy.ShutdownDelay},
				{"drainTimeout", &s.Deploy.DrainTimeout}, {"firstWindow", &s.Deploy.FirstWindow}} {
				if v := g[x.name]; v != nil {
					*x.dst, _ = d.duration(v, "deploy."+x.name)
				}
			}
		}
	}
	if n := f["thresholds"]; n != nil {
		for i, it := range d.Sequence(n, "thresholds", true) {
			field := fmt.Sprintf("thresholds[%d]", i)
			if it = d.Resolve(it); it.Kind != yaml.MappingNode {
				t, _ := d.str(it, field)
				s.Thresholds = append(s.Thresholds, t)
				continue
			}
			// {expr: "errors == 0", abort: true, grace: 5s}
			g := d.Mapping(it, field, "expr", "abort", "grace")
			var t string
			if v := g["expr"]; v != nil {
				t, _ = d.str(v, field+".expr")
			} else {
				d.fail(it.Line, field+".expr", true, "required (want e.g. {expr: \"errors == 0\", abort: true})")
				d.bad[field] = true // said once
			}
			s.Thresholds = append(s.Thresholds, t)
			var abort bool
			if v := g["abort"]; v != nil {
				abort, _ = d.boolean(v, field+".abort")
			}
			var grace time.Duration
			if v := g["grace"]; v != nil {
				grace, _ = d.duration(v, field+".grace")
				if !abort {
					d.fail(v.Line, field+".grace", true, "applies only with abort: true")
				}
			}
			if abort {
				s.Aborts = append(s.Aborts, Abort{Threshold: i, Grace: grace})
			}
		}
	}
}

// variant is one choice of a field like rate.shape and the fields it reads.
type variant struct {
	name     string
	fields   []string
	optional []string // fields the variant reads when given
}

// shapeVariants are the fields each rate shape reads, besides shape.
func shapeVariants() []variant {
	return []variant{
		{ShapeConstant, []string{"rps"}, nil},
		{ShapeLinear, []string{"from", "to"}, nil},
		{ShapeSine, []string{"mean", "amp", "period"}, nil},
		{ShapeSteps, []string{"steps"}, nil},
		{ShapeMax, []string{"workers"}, nil},
		{ShapeSearch, []string{"slo", "from", "to"}, []string{"factor", "resolution", "step_duration", "settle"}},
	}
}

// distVariants are the fields each key distribution reads, besides distribution.
func distVariants() []variant {
	return []variant{
		{DistUniform, nil, nil},
		{DistZipf, []string{"s"}, nil},
		{DistHotspot, []string{"fraction", "share"}, nil},
	}
}

// onlyFor reports the fields present in f that the chosen variant does not read, and the
// variant's fields that are missing. An unknown variant is left to the semantic checks.
func (d *decoder) onlyFor(f map[string]*yaml.Node, path, kindField, kind string, variants []variant) {
	i := slices.IndexFunc(variants, func(v variant) bool { return v.name == kind })
	if i < 0 {
		return
	}
	want := variants[i].fields
	reads := append(slices.Clone(want), variants[i].optional...)
	takes := strings.Join(reads, ", ")
	if takes == "" {
		takes = "no other field"
	}
	for _, v := range variants {
		for _, name := range append(slices.Clone(v.fields), v.optional...) {
			if f[name] != nil && !slices.Contains(reads, name) {
				d.fail(f[name].Line, strictyaml.Join(path, name), true, "not a field of %s %s (it takes %s)", kindField, kind, takes)
			}
		}
	}
	for _, name := range want {
		if f[name] == nil {
			d.missing(strictyaml.Join(path, name), " for "+kindField+" "+kind)
		}
	}
}

// rate reads a rate mapping, or a bare number for a constant rate.
func (d *decoder) rate(n *yaml.Node, r *Rate) {
	if n.Kind == yaml.ScalarNode {
		r.RPS, _ = d.number(n, "rate")
		return
	}
	f := d.Mapping(n, "rate", "shape", "rps", "from", "to", "mean", "amp", "period", "steps", "workers",
		"slo", "factor", "resolution", "step_duration", "settle")
	if f == nil {
		return
	}
	if v := f["shape"]; v != nil {
		if s, ok := d.str(v, "rate.shape"); ok {
			r.Shape = s
		}
	}
	d.onlyFor(f, "rate", "shape", r.Shape, shapeVariants())
	for _, x := range []struct {
		name string
		dst  *float64
	}{{"rps", &r.RPS}, {"from", &r.From}, {"to", &r.To}, {"mean", &r.Mean}, {"amp", &r.Amp},
		{"factor", &r.Search.Factor}, {"resolution", &r.Search.Resolution}} {
		if v := f[x.name]; v != nil {
			*x.dst, _ = d.number(v, "rate."+x.name)
		}
	}
	if v := f["period"]; v != nil {
		r.Period, _ = d.duration(v, "rate.period")
	}
	if v := f["workers"]; v != nil {
		r.Workers, _ = d.integer(v, "rate.workers")
	}
	if v := f["slo"]; v != nil {
		r.Search.SLO, _ = d.str(v, "rate.slo")
	}
	if v := f["step_duration"]; v != nil {
		r.Search.StepDuration, _ = d.duration(v, "rate.step_duration")
	}
	if v := f["settle"]; v != nil {
		r.Search.Settle, _ = d.duration(v, "rate.settle")
	}
	if v := f["steps"]; v != nil {
		items := d.Sequence(v, "rate.steps", false)
		r.Steps = make([]Step, len(items))
		for i, it := range items {
			path := fmt.Sprintf("rate.steps[%d]", i)
			g := d.Mapping(it, path, "rps", "for")
			if g == nil {
				continue
			}
			if v := g["rps"]; v != nil {
				r.Steps[i].RPS, _ = d.number(v, path+".rps")
			} else {
				d.missing(path+".rps", "")
			}
			if v := g["for"]; v != nil {
				r.Steps[i].For, _ = d.duration(v, path+".for")
			} else if i < len(items)-1 {
				d.missing(path+".for", " (only the last step may leave it out: it holds until the end)")
			}
		}
	}
}

// population reads the seeded population.
func (d *decoder) population(n *yaml.Node, p *Population) {
	f := d.Mapping(n, "population", "users", "tiers", "conversations", "messages")
	if f == nil {
		return
	}
	for _, x := range []struct {
		name string
		dst  *int
	}{{"users", &p.Users}, {"conversations", &p.Conversations}, {"messages", &p.Messages}} {
		if v := f[x.name]; v != nil {
			*x.dst, _ = d.integer(v, "population."+x.name)
		}
	}
	if v := f["tiers"]; v != nil {
		if g := d.Mapping(v, "population.tiers", string(atlas.TierFree), string(atlas.TierCore), string(atlas.TierStudio)); g != nil {
			p.Tiers = atlas.TierMix{}
			for _, x := range []struct {
				tier atlas.Tier
				dst  *float64
			}{{atlas.TierFree, &p.Tiers.Free}, {atlas.TierCore, &p.Tiers.Core}, {atlas.TierStudio, &p.Tiers.Studio}} {
				if w := g[string(x.tier)]; w != nil {
					*x.dst, _ = d.number(w, "population.tiers."+string(x.tier))
				}
			}
		}
	}
}

// keys reads the key distribution.
func (d *decoder) keys(n *yaml.Node, k *Keys) {
	f := d.Mapping(n, "keys", "distribution", "s", "fraction", "share")
	if f == nil {
		return
	}
	if v := f["distribution"]; v != nil {
		if s, ok := d.str(v, "keys.distribution"); ok {
			k.Distribution = s
		}
	}
	d.onlyFor(f, "keys", "distribution", k.Distribution, distVariants())
	for _, x := range []struct {
		name string
		dst  *float64
	}{{"s", &k.S}, {"fraction", &k.Fraction}, {"share", &k.Share}} {
		if v := f[x.name]; v != nil {
			*x.dst, _ = d.number(v, "keys."+x.name)
		}
	}
}

// mix reads the request mix.
func (d *decoder) mix(n *yaml.Node, s *Scenario) {
	items := d.Sequence(n, "mix", false)
	s.Mix = make([]MixEntry, len(items))
	for i, it := range items {
		path := fmt.Sprintf("mix[%d]", i)
		m := &s.Mix[i]
		f := d.Mapping(it, path, "req", "attack", "weight", "expect", "changes", "body")
		if f == nil {
			continue
		}
		if v := f["req"]; v != nil {
			d.request(v, path+".req", m)
		}
		if v := f["attack"]; v != nil {
			if a, ok := d.str(v, path+".attack"); ok && a == "" {
				d.fail(v.Line, path+".attack", true, "is empty (want one of %s)", strings.Join(AttackKinds(), ", "))
			} else {
				m.Attack = a
			}
		}
		if f["req"] == nil && f["attack"] == nil {
			d.missing(path+".req", ` (e.g. "GET /api/me/tier"), or attack: KIND instead`)
		}
		if v := f["weight"]; v != nil {
			m.Weight, _ = d.number(v, path+".weight")
		} else {
			d.missing(path+".weight", " (a number > 0)")
		}
		if v := f["expect"]; v != nil {
			for j, st := range d.Sequence(v, path+".expect", true) {
				code, _ := d.integer(st, fmt.Sprintf("%s.expect[%d]", path, j))
				m.Expect = append(m.Expect, code)
			}
		}
		if v := f["changes"]; v != nil {
			for j, c := range d.Sequence(v, path+".changes", true) {
				if r, ok := d.str(c, fmt.Sprintf("%s.changes[%d]", path, j)); ok {
					m.Changes = append(m.Changes, strings.TrimSpace(r))
				}
			}
		}
		if v := f["body"]; v != nil {
			m.Body, _ = d.str(v, path+".body")
		}
	}
}

// request reads "METHOD /path[?query]".
func (d *decoder) request(n *yaml.Node, field string, m *MixEntry) {
	req, ok := d.str(n, field)
	if !ok {
		return
	}
	m.Req = strings.TrimSpace(req)
	parts := strings.Fields(m.Req)
	if len(parts) != 2 || !strings.HasPrefix(parts[1], "/") {
		d.fail(n.Line, field, true, `%q is not "METHOD /path" (e.g. "GET /api/me/tier")`, req)
		return
	}
	m.Method = strings.ToUpper(parts[0])
	m.Path, m.Query, _ = strings.Cut(parts[1], "?")
	_, known := LookupRoute(m.Method, m.Path)
	m.Own = !known && OwnRoute(m.Path)
	if _, err := url.ParseQuery(m.Query); err != nil {
		d.fail(n.Line, field, true, "bad query %q: %v", m.Query, err)
	}
}

// faults reads the fault list.
func (d *decoder) faults(n *yaml.Node, s *Scenario) {
	items := d.Sequence(n, "faults", false)
	s.Faults = make([]Fault, len(items))
	for i, it := range items {
		path := fmt.Sprintf("faults[%d]", i)
		ft := &s.Faults[i]
		f := d.Mapping(it, path, "at", "do", "node", "latency", "jitter", "period", "server", "interval")
		if f == nil {
			continue
		}
		if v := f["at"]; v != nil {
			ft.At, _ = d.duration(v, path+".at")
		} else {
			d.missing(path+".at", " (an offset from the end of warm-up, e.g. 20s)")
		}
		if v := f["do"]; v != nil {
			ft.Do, _ = d.str(v, path+".do")
		} else {
			d.missing(path+".do", " (one of "+strings.Join(FaultVerbs(), ", ")+")")
		}
		if v := f["server"]; v != nil {
			ft.Server, _ = d.integer(v, path+".server")
		}
		if v := f["node"]; v != nil {
			ft.Node, _ = d.str(v, path+".node")
		}
		for _, x := range []struct {
			name string
			dst  *time.Duration
		}{{"latency", &ft.Latency}, {"jitter", &ft.Jitter}, {"period", &ft.Period}, {"interval", &ft.Interval}} {
			if v := f[x.name]; v != nil {
				*x.dst, _ = d.duration(v, path+"."+x.name)
			}
		}
	}
}

// redis reads the redis section: {cluster: {masters, replicas, nodeTimeout}, persistence}.
func (d *decoder) redis(n *yaml.Node, r *RedisSpec) {
	f := d.Mapping(n, "redis", "cluster", "persistence")
	if f == nil {
		return
	}
	if v := f["persistence"]; v != nil {
		r.Persistence, _ = d.str(v, "redis.persistence")
	}
	v := f["cluster"]
	if v == nil {
		return
	}
	c := &ClusterSpec{Masters: 3, Replicas: 1, NodeTimeout: 2 * time.Second}
	r.Cluster = c
	g := d.Mapping(v, "redis.cluster", "masters", "replicas", "nodeTimeout")
	if g == nil {
		return
	}
	if x := g["masters"]; x != nil {
		c.Masters, _ = d.integer(x, "redis.cluster.masters")
	}
	if x := g["replicas"]; x != nil {
		c.Replicas, _ = d.integer(x, "redis.cluster.replicas")
	}
	if x := g["nodeTimeout"]; x != nil {
		c.NodeTimeout, _ = d.duration(x, "redis.cluster.nodeTimeout")
	}
}
