package cache

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

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
	// read timeouts, 3 retries, context deadlines ignored) instead of the fail-fast settings.
	ClientDefaults bool `json:"clientDefaults,omitempty"`
	// MiscountHits makes the cache report every Redis key it read as found (RedisStats):
	// a server that miscounts, only for proving that the harness's cross-checks catch it.
	MiscountHits bool `json:"miscountHits,omitempty"`
	// SkipReplicaWait answers a write as soon as the shard's master has the invalidation,
	// without waiting for its replicas (with redis.readFromReplicas a lagging replica then
	// serves entries the write replaced).
	SkipReplicaWait bool `json:"skipReplicaWait,omitempty"`
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
	// read) to a random node of the key's shard, master or replica (go-redis ReadOnly +
	// RouteRandomly); every invalidation then waits (WAIT) until the shard's replicas have
	// it before the write is answered. No effect on a single Redis.
	ReadFromReplicas bool `json:"readFromReplicas,omitempty"`
}

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

// withDefaults fills the zero fields of the redis and breaker sections.
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
// "file:line: field: problem"; unknown fields are errors.
func ParseConfig(name string, data []byte) (Config, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return Config{}, fmt.Errorf("%s: empty config", name)
		}
		return Config{}, syntaxError(name, err)
	}
	p := &configParser{file: name}
	cfg := p.parse(&doc)
	if len(p.errs) > 0 {
		return Config{}, errors.Join(p.errs...)
	}
	if cfg.Name == "" {
		cfg.Name = strings.TrimSuffix(strings.TrimSuffix(filepath.Base(name), ".yaml"), ".yml")
	}
	cfg.Source = name
	return cfg, nil
}

// syntaxError turns yaml's "yaml: line N: msg" into "file:N: msg".
func syntaxError(file string, err error) error {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "yaml: line "); ok {
		if n, m, ok := strings.Cut(rest, ": "); ok {
			if _, err := strconv.Atoi(n); err == nil {
				return fmt.Errorf("%s:%s: %s", file, n, m)
			}
		}
	}
	return fmt.Errorf("%s: %w", file, err)
}

// configParser walks the YAML tree so that every message can name file, line and field.
type configParser struct {
	file string
	errs []error
}

func (p *configParser) errorf(n *yaml.Node, format string, args ...any) {
	prefix := p.file
	if n != nil && n.Line > 0 {
		prefix += ":" + strconv.Itoa(n.Line)
	}
	p.errs = append(p.errs, fmt.Errorf("%s: "+format, append([]any{prefix}, args...)...))
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func join(parent, field string) string {
	if parent == "" {
		return field
	}
	return parent + "." + field
}

// fields calls visit for every key of mapping n in order; it reports duplicate
// keys and keys visit does not know (visit returns false).
func (p *configParser) fields(n *yaml.Node, at string, visit func(key string, keyNode, val *yaml.Node) bool) bool {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		if at == "" {
			p.errorf(n, "want a mapping at the top level")
		} else {
			p.errorf(n, "%s: want a mapping", at)
		}
		return false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "%s: want a field name", orTop(at))
			continue
		}
		if seen[k.Value] {
			p.errorf(k, "duplicate field %q", join(at, k.Value))
			continue
		}
		seen[k.Value] = true
		if !visit(k.Value, k, v) {
			p.errorf(k, "unknown field %q", join(at, k.Value))
		}
	}
	return true
}

func orTop(at string) string {
	if at == "" {
		return "top level"
	}
	return at
}

func (p *configParser) parse(doc *yaml.Node) Config {
	var cfg Config
	root := doc
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			p.errorf(nil, "empty config")
			return cfg
		}
		root = doc.Content[0]
	}
	var ttlKey, ttlVal *yaml.Node
	ok := p.fields(root, "", func(key string, k, v *yaml.Node) bool {
		switch key {
		case "name":
			cfg.Name = p.str(v, "name")
		case "disabled":
			cfg.Disabled = p.boolean(v, "disabled")
		case "ttl":
			ttlKey, ttlVal = k, v
		case "jitter":
			cfg.Jitter = p.jitter(v)
		case "warm":
			cfg.Warm = p.boolean(v, "warm")
		case "redis":
			cfg.Redis = p.redis(v)
		case "breaker":
			cfg.Breaker = p.breaker(v)
		case "unsafe":
			cfg.Unsafe = p.unsafe(v)
		default:
			return false
		}
		return true
	})
	if !ok {
		return cfg
	}
	switch {
	case ttlVal != nil:
		cfg.TTLs = p.ttls(ttlKey, ttlVal)
	case !cfg.Disabled:
		p.errorf(nil, "ttl: missing (every tier and class need a TTL; write disabled: true for no cache)")
	}
	return cfg.withDefaults()
}

func (p *configParser) ttls(key, n *yaml.Node) map[string]map[Class]time.Duration {
	out := map[string]map[Class]time.Duration{}
	p.fields(n, "ttl", func(tier string, _, v *yaml.Node) bool {
		if !validTier(tier) {
			return false
		}
		at := join("ttl", tier)
		m := map[Class]time.Duration{}
		p.fields(v, at, func(class string, _, v *yaml.Node) bool {
			if !Class(class).Valid() {
				return false
			}
			m[Class(class)] = p.seconds(v, join(at, class))
			return true
		})
		for _, c := range Classes() {
			if _, ok := m[c]; !ok && resolve(v).Kind == yaml.MappingNode {
				p.errorf(v, "%s: missing class %q", at, c)
			}
		}
		out[tier] = m
		return true
	})
	if resolve(n).Kind == yaml.MappingNode {
		for _, t := range tiers() {
			if _, ok := out[t]; !ok {
				p.errorf(key, "ttl: missing tier %q", t)
			}
		}
	}
	return out
}

func (p *configParser) redis(n *yaml.Node) RedisConfig {
	var r RedisConfig
	p.fields(n, "redis", func(key string, _, v *yaml.Node) bool {
		at := join("redis", key)
		switch key {
		case "dialTimeout":
			r.DialTimeout = p.timeout(v, at)
		case "readTimeout":
			r.ReadTimeout = p.timeout(v, at)
		case "writeTimeout":
			r.WriteTimeout = p.timeout(v, at)
		case "caCert":
			r.CACert = p.str(v, at)
		case "readFromReplicas":
			r.ReadFromReplicas = p.boolean(v, at)
		case "poolSize":
			r.PoolSize = p.integer(v, at)
			if r.PoolSize < 0 {
				p.errorf(v, "%s: must be >= 0 (0 = the go-redis default), got %d", at, r.PoolSize)
			}
		default:
			return false
		}
		return true
	})
	return r
}

func (p *configParser) unsafe(n *yaml.Node) UnsafeConfig {
	var u UnsafeConfig
	p.fields(n, "unsafe", func(key string, _, v *yaml.Node) bool {
		switch key {
		case "dropFailedInvalidations":
			u.DropFailedInvalidations = p.boolean(v, join("unsafe", key))
		case "clientDefaults":
			u.ClientDefaults = p.boolean(v, join("unsafe", key))
		case "miscountHits":
			u.MiscountHits = p.boolean(v, join("unsafe", key))
		case "localPendingOnly":
			u.LocalPendingOnly = p.boolean(v, join("unsafe", key))
		case "skipReplicaWait":
			u.SkipReplicaWait = p.boolean(v, join("unsafe", key))
		default:
			return false
		}
		return true
	})
	return u
}

func (p *configParser) breaker(n *yaml.Node) BreakerConfig {
	var b BreakerConfig
	p.fields(n, "breaker", func(key string, _, v *yaml.Node) bool {
		at := join("breaker", key)
		switch key {
		case "failures":
			b.Failures = p.integer(v, at)
			if b.Failures < 1 {
				p.errorf(v, "%s: must be >= 1, got %d", at, b.Failures)
			}
		case "openFor":
			if d, ok := p.duration(v, at); ok && d <= 0 {
				p.errorf(v, "%s: must be > 0, got %s", at, resolve(v).Value)
			} else {
				b.OpenFor = d
			}
		default:
			return false
		}
		return true
	})
	return b
}

func (p *configParser) scalar(n *yaml.Node, at string) (string, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "%s: want a single value", at)
		return "", false
	}
	return n.Value, true
}

func (p *configParser) str(n *yaml.Node, at string) string {
	s, _ := p.scalar(n, at)
	return s
}

func (p *configParser) boolean(n *yaml.Node, at string) bool {
	s, ok := p.scalar(n, at)
	if !ok {
		return false
	}
	switch s {
	case "true":
		return true
	case "false":
		return false
	}
	p.errorf(n, "%s: want true or false, got %q", at, s)
	return false
}

func (p *configParser) integer(n *yaml.Node, at string) int {
	s, ok := p.scalar(n, at)
	if !ok {
		return 0
	}
	i, err := strconv.Atoi(s)
	if err != nil {
		p.errorf(n, "%s: want a whole number, got %q", at, s)
		return 0
	}
	return i
}

func (p *configParser) seconds(n *yaml.Node, at string) time.Duration {
	s, ok := p.scalar(n, at)
	if !ok {
		return 0
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		p.errorf(n, "%s: want whole seconds, got %q", at, s)
		return 0
	}
	if i < 0 {
		p.errorf(n, "%s: must be >= 0 seconds, got %d", at, i)
		return 0
	}
	if i > math.MaxInt64/int64(time.Second) {
		p.errorf(n, "%s: too large, got %d", at, i)
		return 0
	}
	return time.Duration(i) * time.Second
}

// duration parses a Go duration; ok is false when a problem was reported.
func (p *configParser) duration(n *yaml.Node, at string) (time.Duration, bool) {
	s, ok := p.scalar(n, at)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.errorf(n, "%s: invalid duration %q (want a Go duration like 50ms)", at, s)
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
		p.errorf(n, "%s: must be > 0 and <= %s, got %s", at, maxRedisTimeout, resolve(n).Value)
		return 0
	}
	return d
}

func (p *configParser) jitter(n *yaml.Node) float64 {
	s, ok := p.scalar(n, "jitter")
	if !ok {
		return 0
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		p.errorf(n, "jitter: want a number in [0, 1), got %q", s)
		return 0
	}
	if !(f >= 0 && f < 1) {
		p.errorf(n, "jitter: must be in [0, 1), got %s", s)
		return 0
	}
	return f
}
