package cache

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/strictyaml"
	"go.yaml.in/yaml/v3"
)

//go:embed configs/*.yaml
var builtinFS embed.FS

// Defaults of the redis and breaker sections when a field is left out.
const (
	DefaultDialTimeout     = 100 * time.Millisecond
	DefaultReadTimeout     = 50 * time.Millisecond
	DefaultWriteTimeout    = 50 * time.Millisecond
	DefaultBreakerFailures = 5
	DefaultBreakerOpenFor  = time.Second

	maxRedisTimeout = time.Second
)

// Config is a cache config (docs/CACHE-CONFIG.md): TTLs per tier per class,
// jitter, warming, the Redis client's timeouts and the breaker. The zero Config
// is a disabled cache.
type Config struct {
	// Name is the config's name field ("default", "production", "none", or a file's own).
	Name string `json:"name"`
	// Source is where the config was read from ("configs/default.yaml" or a path); messages use it.
	Source string `json:"source,omitempty"`
	// Disabled turns the cache off (the built-in "none"): every Load calls its loader.
	Disabled bool `json:"disabled,omitempty"`
	// TTLs is the base TTL per tier (free, core, studio) per class. A TTL of 0 means
	// that class is not cached for that tier (its Loads bypass).
	TTLs map[string]map[Class]time.Duration `json:"ttl,omitempty"`
	// Jitter spreads every TTL uniformly over base×(1±Jitter); 0 <= Jitter < 1.
	Jitter float64 `json:"jitter"`
	// Warm preloads tier and profile of active users at start and after Redis recovers.
	Warm bool `json:"warm"`
	// Warming bounds what warming loads and how fast (docs/CACHE-CONFIG.md); its zero
	// fields take their defaults.
	Warming WarmingConfig `json:"warming"`
	// Redis holds the client's fail-fast settings.
	Redis RedisConfig `json:"redis"`
	// Breaker configures the circuit breaker around every Redis call.
	Breaker BreakerConfig `json:"breaker"`
	// Unsafe switches protections off, to prove the harness catches their absence
	// (testdata/weak-*.yaml). Never in production.
	Unsafe UnsafeConfig `json:"unsafe,omitzero"`
}

// UnsafeConfig names protections a config may switch off for a demonstration.
type UnsafeConfig struct {
	// DropFailedInvalidations is naive cache-aside: an invalidation that fails because Redis
	// is unreachable is logged and forgotten (no bypass of that user, no retry), so Redis
	// coming back with its old entries serves them until their TTL.
	DropFailedInvalidations bool `json:"dropFailedInvalidations,omitempty"`
	// LocalPendingOnly keeps invalidations that failed in the process that failed them
	// (no fence log): safe for one server instance; with several, another instance keeps
	// serving the entries the write made stale.
	LocalPendingOnly bool `json:"localPendingOnly,omitempty"`
	// ClientDefaults builds the go-redis client with its own defaults (seconds-long dial and
	// read timeouts, 3 retries, context deadlines ignored) instead of the fail-fast settings,
	// behind one breaker for the whole cache (no breaker per cluster node) that counts
	// failures within Breaker.OpenFor rather than consecutive ones.
	ClientDefaults bool `json:"clientDefaults,omitempty"`
	// MiscountHits makes the cache report every Redis key it read as found (RedisStats):
	// a server that miscounts, only for proving that the harness's cross-checks catch it.
	MiscountHits bool `json:"miscountHits,omitempty"`
	// SkipReplicaWait answers a write as soon as the slot range's master has the invalidation,
	// without waiting for its replicas (with redis.readFromReplicas a lagging replica then
	// serves entries the write replaced).
	SkipReplicaWait bool `json:"skipReplicaWait,omitempty"`
	// ValidatorIgnoresTier derives a cached answer's ETag without the tier and without the
	// generation a tier change increments: a client's copy made under the old tier is then
	// revalidated (304) after the change.
	ValidatorIgnoresTier bool `json:"validatorIgnoresTier,omitempty"`
	// AbruptShutdown makes the server that runs this config exit on SIGTERM the way a naive
	// one does: /readyz never fails, no shutdown delay, requests in flight cut off, nothing
	// drained (refserver.ShutdownOptions.Abrupt).
	AbruptShutdown bool `json:"abruptShutdown,omitempty"`
}

// RedisConfig holds the go-redis client settings of a Config.
type RedisConfig struct {
	// DialTimeout bounds one connection attempt; default 100ms, at most 1s.
	DialTimeout time.Duration `json:"dialTimeout"`
	// ReadTimeout bounds one socket read; default 50ms, at most 1s. It is also the
	// default per-call budget of the cache (Options.OpTimeout).
	ReadTimeout time.Duration `json:"readTimeout"`
	// WriteTimeout bounds one socket write; default 50ms, at most 1s.
	WriteTimeout time.Duration `json:"writeTimeout"`
	// PoolSize is the connection pool size; 0 means go-redis's default (10 per GOMAXPROCS).
	PoolSize int `json:"poolSize"`
	// CACert is a PEM file of the CAs a rediss:// server's certificate must chain to;
	// empty means the system roots. A relative path is relative to the config file.
	CACert string `json:"caCert,omitempty"`
	// ReadFromReplicas sends a Redis Cluster's read-only commands (the one MGET of a cached
	// read) to a random node of the key's slot range, master or replica (go-redis ReadOnly +
	// RouteRandomly); every invalidation then waits (WAIT) until the slot range's replicas have
	// it before the write is answered. No effect on a single Redis.
	ReadFromReplicas bool `json:"readFromReplicas,omitempty"`
}

// WarmingConfig bounds warming: the active population (users by last activity, most
// recent first) is warmed until one of the budgets is spent, at a bounded rate of Redis
// commands, within a deadline.
type WarmingConfig struct {
	// MaxUsers is the most users warming loads; default 0: no cap of its own (the key and
	// byte budgets bound it).
	MaxUsers int `json:"maxUsers"`
	// MaxKeys is the most entries (tier and profile) warming writes; default DefaultWarmMaxKeys.
	MaxKeys int `json:"maxKeys"`
	// MaxMiB is the most memory warming's entries may take in Redis, estimated per entry as
	// key + value + WarmEntryOverhead bytes; default DefaultWarmMaxMiB.
	MaxMiB int `json:"maxMiB"`
	// OpsPerSec is the most Redis commands per second warming sends (generation reads,
	// SET NX), so it takes a bounded share of Redis while requests are served; its DB
	// queries (one per 500 users) follow the same pace. Default DefaultWarmOpsPerSec.
	OpsPerSec int `json:"opsPerSec"`
	// Deadline stops warming that has not finished by then; default DefaultWarmDeadline.
	Deadline time.Duration `json:"deadline"`
}

// Defaults of the warming section.
const (
	DefaultWarmMaxKeys   = 2_000_000
	DefaultWarmMaxMiB    = 256
	DefaultWarmOpsPerSec = 10_000
	DefaultWarmDeadline  = 5 * time.Minute
	// WarmEntryOverhead is Redis's own memory per key beyond the key and value bytes
	// (dict entry, object headers, expiry), as used by the MaxMiB estimate.
	WarmEntryOverhead = 64
)

// BreakerConfig configures the circuit breaker.
type BreakerConfig struct {
	// Failures is the number of consecutive failed Redis calls that opens the breaker; default 5.
	Failures int `json:"failures"`
	// OpenFor is how long the breaker stays open before one probe is let through; default 1s.
	OpenFor time.Duration `json:"openFor"`
}

// Effective is what the config caches, in plain values for a run's summary: whether it
// caches anything, and each tier's base TTL per class in seconds (classes not cached
// for a tier left out).
func (c Config) Effective() (enabled bool, ttlSeconds map[string]map[string]float64) {
	if !c.Enabled() {
		return false, nil
	}
	ttlSeconds = map[string]map[string]float64{}
	for tier, classes := range c.TTLs {
		for class, d := range classes {
			if d > 0 {
				if ttlSeconds[tier] == nil {
					ttlSeconds[tier] = map[string]float64{}
				}
				ttlSeconds[tier][string(class)] = d.Seconds()
			}
		}
	}
	return true, ttlSeconds
}

// Enabled reports whether the config caches anything: not disabled and with a TTL table.
func (c Config) Enabled() bool { return !c.Disabled && len(c.TTLs) > 0 }

// TTL returns the base TTL (no jitter) of class for tier; 0 when the cache is
// disabled, the tier or class is unknown, or the class is not cached for the tier.
func (c Config) TTL(tier string, class Class) time.Duration {
	if !c.Enabled() {
		return 0
	}
	return c.TTLs[tier][class]
}

// withDefaults fills the zero fields of the redis, breaker and warming sections.
func (c Config) withDefaults() Config {
	if c.Redis.DialTimeout <= 0 {
		c.Redis.DialTimeout = DefaultDialTimeout
	}
	if c.Redis.ReadTimeout <= 0 {
		c.Redis.ReadTimeout = DefaultReadTimeout
	}
	if c.Redis.WriteTimeout <= 0 {
		c.Redis.WriteTimeout = DefaultWriteTimeout
	}
	if c.Breaker.Failures <= 0 {
		c.Breaker.Failures = DefaultBreakerFailures
	}
	if c.Breaker.OpenFor <= 0 {
		c.Breaker.OpenFor = DefaultBreakerOpenFor
	}
	w := &c.Warming
	if w.MaxKeys <= 0 {
		w.MaxKeys = DefaultWarmMaxKeys
	}
	if w.MaxMiB <= 0 {
		w.MaxMiB = DefaultWarmMaxMiB
	}
	if w.OpsPerSec <= 0 {
		w.OpsPerSec = DefaultWarmOpsPerSec
	}
	if w.Deadline <= 0 {
		w.Deadline = DefaultWarmDeadline
	}
	return c
}

// BuiltinConfigs lists the names of the embedded configs, sorted.
func BuiltinConfigs() []string {
	entries, err := fs.ReadDir(builtinFS, "configs")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			names = append(names, n)
		}
	}
	return names
}

// LoadConfig returns a built-in config by name (see BuiltinConfigs) or reads and
// parses the file at nameOrPath. A built-in name wins over a file of the same
// name in the working directory; write "./default" to read such a file.
func LoadConfig(nameOrPath string) (Config, error) {
	if slices.Contains(BuiltinConfigs(), nameOrPath) {
		file := path.Join("configs", nameOrPath+".yaml")
		data, err := builtinFS.ReadFile(file)
		if err != nil {
			return Config{}, fmt.Errorf("cache config %q: %w", nameOrPath, err)
		}
		return ParseConfig(file, data)
	}
	data, err := os.ReadFile(nameOrPath)
	if err != nil {
		return Config{}, fmt.Errorf("cache config: %w (built-ins: %s)", err, strings.Join(BuiltinConfigs(), ", "))
	}
	cfg, err := ParseConfig(nameOrPath, data)
	if err == nil && cfg.Redis.CACert != "" && !filepath.IsAbs(cfg.Redis.CACert) {
		cfg.Redis.CACert = filepath.Join(filepath.Dir(nameOrPath), cfg.Redis.CACert)
	}
	return cfg, err
}

// DefaultConfig returns the built-in "default" config.
func DefaultConfig() Config {
	c, err := LoadConfig("default")
	if err != nil {
		panic(err) // the embedded file is checked by the package's tests
	}
	return c
}

// ParseConfig parses and validates a YAML cache config. name is the file name
// used in messages. Every problem is reported at once (errors.Join), each as
// "file:line: field: problem" (a *strictyaml.Error); unknown fields are errors, with
// the nearest known name when one is near.
func ParseConfig(name string, data []byte) (Config, error) {
	p := &configParser{file: name}
	p.w = strictyaml.New(func(line int, field string, _ bool, msg string) {
		p.errs = append(p.errs, &strictyaml.Error{File: name, Line: line, Field: field, Msg: msg})
	}, 0)
	var cfg Config
	if root := p.w.Document(data, "empty config", "a mapping of cache config fields ("+strings.Join(names(p.configFields(nil, nil, nil)), ", ")+")"); root != nil {
		cfg = p.parse(root)
	}
	if len(p.errs) > 0 {
		return Config{}, errors.Join(p.errs...)
	}
	if cfg.Name == "" {
		cfg.Name = strings.TrimSuffix(strings.TrimSuffix(filepath.Base(name), ".yaml"), ".yml")
	}
	cfg.Source = name
	return cfg, nil
}

// configParser walks the YAML tree so that every message can name file, line and field.
type configParser struct {
	file string
	w    *strictyaml.Walker
	errs []error
}

// fail reports a problem of field at n's line (the file's when n is nil).
func (p *configParser) fail(n *yaml.Node, field, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.w.Fail(line, field, true, format, args...)
}

// field is one field of a config section: its name, the one spelling of it in the
// parser (the struct's json tag says the same; a test keeps them equal), and how to read it.
type field struct {
	name string
	read func(key, val *yaml.Node, at string)
}

// names are the fields' names, in order.
func names(fs []field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.name
	}
	return out
}

// section reads the mapping n at path with its fields; false when n is not a mapping.
func (p *configParser) section(n *yaml.Node, path string, fs []field) bool {
	return p.w.Fields(n, path, names(fs), func(key string, k, v *yaml.Node) {
		for _, f := range fs {
			if f.name == key {
				f.read(k, v, strictyaml.Join(path, key))
				return
			}
		}
	})
}

// configFields are the top-level fields of a cache config, read into cfg, in the order
// docs/CACHE-CONFIG.md gives them; ttl is kept for the end (ttlKey, ttlVal).
func (p *configParser) configFields(cfg *Config, ttlKey, ttlVal **yaml.Node) []field {
	return []field{
		{"name", func(_, v *yaml.Node, at string) { cfg.Name = p.str(v, at) }},
		{"disabled", func(_, v *yaml.Node, at string) { cfg.Disabled = p.boolean(v, at) }},
		{"ttl", func(k, v *yaml.Node, _ string) { *ttlKey, *ttlVal = k, v }},
		{"jitter", func(_, v *yaml.Node, _ string) { cfg.Jitter = p.jitter(v) }},
		{"warm", func(_, v *yaml.Node, at string) { cfg.Warm = p.boolean(v, at) }},
		{"warming", func(_, v *yaml.Node, _ string) { cfg.Warming = p.warming(v) }},
		{"redis", func(_, v *yaml.Node, _ string) { cfg.Redis = p.redis(v) }},
		{"breaker", func(_, v *yaml.Node, _ string) { cfg.Breaker = p.breaker(v) }},
		{"unsafe", func(_, v *yaml.Node, _ string) { cfg.Unsafe = p.unsafe(v) }},
	}
}

func (p *configParser) parse(root *yaml.Node) Config {
	var cfg Config
	var ttlKey, ttlVal *yaml.Node
	p.section(root, "", p.configFields(&cfg, &ttlKey, &ttlVal))
	switch {
	case ttlVal != nil:
		cfg.TTLs = p.ttls(ttlKey, ttlVal)
	case !cfg.Disabled:
		p.fail(nil, "ttl", "missing (every tier and class need a TTL; write disabled: true for no cache)")
	}
	return cfg.withDefaults()
}

func (p *configParser) ttls(key, n *yaml.Node) map[string]map[Class]time.Duration {
	out := map[string]map[Class]time.Duration{}
	var classes []string
	for _, c := range Classes() {
		classes = append(classes, string(c))
	}
	p.w.Fields(n, "ttl", tiers(), func(tier string, _, v *yaml.Node) {
		at := strictyaml.Join("ttl", tier)
		m := map[Class]time.Duration{}
		if !p.w.Fields(v, at, classes, func(class string, _, v *yaml.Node) {
			m[Class(class)] = p.seconds(v, strictyaml.Join(at, class))
		}) {
			out[tier] = m
			return
		}
		for _, c := range Classes() {
			if _, ok := m[c]; !ok {
				p.fail(v, at, "missing class %q", c)
			}
		}
		out[tier] = m
	})
	if n.Kind == yaml.MappingNode {
		for _, t := range tiers() {
			if _, ok := out[t]; !ok {
				p.fail(key, "ttl", "missing tier %q", t)
			}
		}
	}
	return out
}

func (p *configParser) redis(n *yaml.Node) RedisConfig {
	var r RedisConfig
	p.section(n, "redis", p.redisFields(&r))
	return r
}

// redisFields are the fields of the redis section, read into r.
func (p *configParser) redisFields(r *RedisConfig) []field {
	return []field{
		{"dialTimeout", func(_, v *yaml.Node, at string) { r.DialTimeout = p.timeout(v, at) }},
		{"readTimeout", func(_, v *yaml.Node, at string) { r.ReadTimeout = p.timeout(v, at) }},
		{"writeTimeout", func(_, v *yaml.Node, at string) { r.WriteTimeout = p.timeout(v, at) }},
		{"poolSize", func(_, v *yaml.Node, at string) {
			r.PoolSize, _ = p.integer(v, at)
			if r.PoolSize < 0 {
				p.fail(v, at, "must be >= 0 (0 = the go-redis default), got %d", r.PoolSize)
			}
		}},
		{"caCert", func(_, v *yaml.Node, at string) { r.CACert = p.str(v, at) }},
		{"readFromReplicas", func(_, v *yaml.Node, at string) { r.ReadFromReplicas = p.boolean(v, at) }},
	}
}

func (p *configParser) unsafe(n *yaml.Node) UnsafeConfig {
	var u UnsafeConfig
	p.section(n, "unsafe", p.unsafeFields(&u))
	return u
}

// unsafeFields are the fields of the unsafe section, read into u.
func (p *configParser) unsafeFields(u *UnsafeConfig) []field {
	flag := func(dst *bool) func(_, v *yaml.Node, at string) {
		return func(_, v *yaml.Node, at string) { *dst = p.boolean(v, at) }
	}
	return []field{
		{"dropFailedInvalidations", flag(&u.DropFailedInvalidations)},
		{"localPendingOnly", flag(&u.LocalPendingOnly)},
		{"clientDefaults", flag(&u.ClientDefaults)},
		{"miscountHits", flag(&u.MiscountHits)},
		{"skipReplicaWait", flag(&u.SkipReplicaWait)},
		{"validatorIgnoresTier", flag(&u.ValidatorIgnoresTier)},
		{"abruptShutdown", flag(&u.AbruptShutdown)},
	}
}

func (p *configParser) warming(n *yaml.Node) WarmingConfig {
	var w WarmingConfig
	p.section(n, "warming", p.warmingFields(&w))
	return w
}

// warmingFields are the fields of the warming section, read into w.
func (p *configParser) warmingFields(w *WarmingConfig) []field {
	count := func(dst *int, least int, zero string) func(_, v *yaml.Node, at string) {
		return func(_, v *yaml.Node, at string) {
			var ok bool
			if *dst, ok = p.integer(v, at); ok && *dst < least {
				p.fail(v, at, "must be >= %d%s, got %d", least, zero, *dst)
			}
		}
	}
	return []field{
		{"maxUsers", count(&w.MaxUsers, 0, " (0 = no cap of its own)")},
		{"maxKeys", count(&w.MaxKeys, 1, "")},
		{"maxMiB", count(&w.MaxMiB, 1, "")},
		{"opsPerSec", count(&w.OpsPerSec, 1, "")},
		{"deadline", func(_, v *yaml.Node, at string) {
			if d, ok := p.duration(v, at); ok && d <= 0 {
				p.fail(v, at, "must be > 0, got %s", v.Value)
			} else {
				w.Deadline = d
			}
		}},
	}
}

func (p *configParser) breaker(n *yaml.Node) BreakerConfig {
	var b BreakerConfig
	p.section(n, "breaker", p.breakerFields(&b))
	return b
}

// breakerFields are the fields of the breaker section, read into b.
func (p *configParser) breakerFields(b *BreakerConfig) []field {
	return []field{
		{"failures", func(_, v *yaml.Node, at string) {
			var ok bool
			if b.Failures, ok = p.integer(v, at); ok && b.Failures < 1 {
				p.fail(v, at, "must be >= 1, got %d", b.Failures)
			}
		}},
		{"openFor", func(_, v *yaml.Node, at string) {
			if d, ok := p.duration(v, at); ok && d <= 0 {
				p.fail(v, at, "must be > 0, got %s", v.Value)
			} else {
				b.OpenFor = d
			}
		}},
	}
}

// scalar reads a single value; want names what the field takes, for the message.
func (p *configParser) scalar(n *yaml.Node, at, want string) (string, bool) {
	if !p.w.Scalar(n, at, want) {
		return "", false
	}
	return n.Value, true
}

func (p *configParser) str(n *yaml.Node, at string) string {
	s, _ := p.scalar(n, at, "a text")
	return s
}

func (p *configParser) boolean(n *yaml.Node, at string) bool {
	s, ok := p.scalar(n, at, "true or false")
	if !ok {
		return false
	}
	switch s {
	case "true":
		return true
	case "false":
		return false
	}
	p.fail(n, at, "want true or false, got %q", s)
	return false
}

// integer reads a whole number; ok is false when a problem was reported.
func (p *configParser) integer(n *yaml.Node, at string) (int, bool) {
	s, ok := p.scalar(n, at, "a whole number")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(s)
	if err != nil {
		p.fail(n, at, "want a whole number, got %q", s)
		return 0, false
	}
	return i, true
}

func (p *configParser) seconds(n *yaml.Node, at string) time.Duration {
	s, ok := p.scalar(n, at, "whole seconds")
	if !ok {
		return 0
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		p.fail(n, at, "want whole seconds, got %q", s)
		return 0
	}
	if i < 0 {
		p.fail(n, at, "must be >= 0 seconds, got %d", i)
		return 0
	}
	if i > math.MaxInt64/int64(time.Second) {
		p.fail(n, at, "too large, got %d", i)
		return 0
	}
	return time.Duration(i) * time.Second
}

// duration parses a Go duration; ok is false when a problem was reported.
func (p *configParser) duration(n *yaml.Node, at string) (time.Duration, bool) {
	s, ok := p.scalar(n, at, "a Go duration like 50ms")
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.fail(n, at, "invalid duration %q (want a Go duration like 50ms)", s)
		return 0, false
	}
	return d, true
}

func (p *configParser) timeout(n *yaml.Node, at string) time.Duration {
	d, ok := p.duration(n, at)
	if !ok {
		return 0
	}
	if d <= 0 || d > maxRedisTimeout {
		p.fail(n, at, "must be > 0 and <= %s, got %s", maxRedisTimeout, n.Value)
		return 0
	}
	return d
}

func (p *configParser) jitter(n *yaml.Node) float64 {
	s, ok := p.scalar(n, "jitter", "a number in [0, 1)")
	if !ok {
		return 0
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		p.fail(n, "jitter", "want a number in [0, 1), got %q", s)
		return 0
	}
	if !(f >= 0 && f < 1) {
		p.fail(n, "jitter", "must be in [0, 1), got %s", s)
		return 0
	}
	return f
}
