package cache

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestBuiltinConfigs(t *testing.T) {
	if got, want := BuiltinConfigs(), []string{"default", "none", "production"}; !slices.Equal(got, want) {
		t.Fatalf("BuiltinConfigs() = %v, want %v", got, want)
	}
	def, err := LoadConfig("default")
	if err != nil {
		t.Fatal(err)
	}
	// docs/CACHE-CONFIG.md's numbers.
	spec := map[string]map[Class]int{
		"free":   {ClassUserProfile: 300, ClassTier: 300, ClassConversations: 180, ClassAPIResponses: 120},
		"core":   {ClassUserProfile: 900, ClassTier: 900, ClassConversations: 600, ClassAPIResponses: 600},
		"studio": {ClassUserProfile: 1800, ClassTier: 1800, ClassConversations: 1200, ClassAPIResponses: 1200},
	}
	for tier, classes := range spec {
		for class, secs := range classes {
			if got := def.TTL(tier, class); got != time.Duration(secs)*time.Second {
				t.Errorf("default TTL(%s, %s) = %v, want %ds", tier, class, got, secs)
			}
		}
	}
	if def.Name != "default" || def.Source != "configs/default.yaml" || !def.Enabled() || !def.Warm || def.Jitter != 0.1 {
		t.Errorf("default = %+v", def)
	}
	wantRedis := RedisConfig{DialTimeout: 100 * time.Millisecond, ReadTimeout: 50 * time.Millisecond, WriteTimeout: 50 * time.Millisecond}
	if def.Redis != wantRedis || def.Breaker != (BreakerConfig{Failures: 5, OpenFor: time.Second}) {
		t.Errorf("default redis/breaker = %+v / %+v", def.Redis, def.Breaker)
	}
	if DefaultConfig().Name != "default" {
		t.Error("DefaultConfig is not the built-in default")
	}

	prod, err := LoadConfig("production")
	if err != nil {
		t.Fatal(err)
	}
	for tier, classes := range spec {
		for class := range classes {
			if p, d := prod.TTL(tier, class), def.TTL(tier, class); p < 2*d {
				t.Errorf("production TTL(%s, %s) = %v, want >= 2x default %v", tier, class, p, d)
			}
		}
	}

	none, err := LoadConfig("none")
	if err != nil {
		t.Fatal(err)
	}
	if none.Enabled() || none.TTL("core", ClassTier) != 0 {
		t.Errorf("none = %+v, want disabled", none)
	}
	if (Config{}).Enabled() {
		t.Error("the zero Config is enabled")
	}
}

func TestLoadConfigFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fast.yaml")
	body := strings.Replace(mustRead(t, "configs/default.yaml"), "name: default", "name: fast", 1)
	body = strings.Replace(body, "jitter: 0.1", "jitter: 0", 1)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "fast" || c.Source != path || c.Jitter != 0 || c.TTL("free", ClassTier) != 300*time.Second {
		t.Errorf("loaded %+v", c)
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "built-ins: default, none, production") {
		t.Errorf("missing file: %v", err)
	}
	// Without a name field the file name is the name; redis and breaker default.
	c, err = ParseConfig("x/mine.yaml", []byte(minimalTTL))
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "mine" || c.Redis.ReadTimeout != DefaultReadTimeout || c.Breaker.Failures != DefaultBreakerFailures {
		t.Errorf("defaults: %+v", c)
	}
	// redis.readFromReplicas and unsafe.skipReplicaWait are fields of the strict decoder.
	c, err = ParseConfig("replicas.yaml", []byte(minimalTTL+"redis: {readFromReplicas: true}\nunsafe: {skipReplicaWait: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Redis.ReadFromReplicas || !c.Unsafe.SkipReplicaWait || c.Redis.ReadTimeout != DefaultReadTimeout {
		t.Errorf("readFromReplicas/skipReplicaWait: %+v %+v", c.Redis, c.Unsafe)
	}
	if _, err := ParseConfig("bad.yaml", []byte(minimalTTL+"redis: {readFromReplicas: yes-please}\n")); err == nil || !strings.Contains(err.Error(), "bad.yaml:5: redis.readFromReplicas: want true or false") {
		t.Errorf("bad readFromReplicas: %v", err)
	}
}

const minimalTTL = `ttl:
  free:   {userProfile: 1, tier: 2, conversations: 3, apiResponses: 4}
  core:   {userProfile: 1, tier: 2, conversations: 3, apiResponses: 4}
  studio: {userProfile: 1, tier: 2, conversations: 3, apiResponses: 0}
`

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want []string // every line of the joined error, in order
	}{
		{
			name: "unknown top-level field, with its line",
			yaml: "name: x\njitter: 0.1\nwarm: true\nttll: {}\n" + minimalTTL,
			want: []string{`configs/x.yaml:4: unknown field "ttll" (did you mean "ttl"?)`},
		},
		{
			name: "unknown nested fields are qualified",
			yaml: minimalTTL + "redis: {readTimout: 50ms}\nbreaker:\n  failures: 3\n  open: 1s\n",
			want: []string{
				`configs/x.yaml:5: redis: unknown field "readTimout" (did you mean "readTimeout"?)`,
				`configs/x.yaml:8: breaker: unknown field "open"`,
			},
		},
		{
			name: "bad duration",
			yaml: minimalTTL + "redis: {dialTimeout: fast}\n",
			want: []string{`configs/x.yaml:5: redis.dialTimeout: invalid duration "fast" (want a Go duration like 50ms)`},
		},
		{
			name: "timeouts out of range",
			yaml: minimalTTL + "redis:\n  readTimeout: 2s\n  writeTimeout: 0s\n  dialTimeout: -5ms\n",
			want: []string{
				`configs/x.yaml:6: redis.readTimeout: must be > 0 and <= 1s, got 2s`,
				`configs/x.yaml:7: redis.writeTimeout: must be > 0 and <= 1s, got 0s`,
				`configs/x.yaml:8: redis.dialTimeout: must be > 0 and <= 1s, got -5ms`,
			},
		},
		{
			name: "negative TTL and a TTL that is not whole seconds",
			yaml: "ttl:\n  free: {userProfile: -5, tier: 2, conversations: 3, apiResponses: 1.5}\n" +
				"  core: {userProfile: 1, tier: 2, conversations: 3, apiResponses: 4}\n" +
				"  studio: {userProfile: 1, tier: 2, conversations: 3, apiResponses: 4}\n",
			want: []string{
				`configs/x.yaml:2: ttl.free.userProfile: must be >= 0 seconds, got -5`,
				`configs/x.yaml:2: ttl.free.apiResponses: want whole seconds, got "1.5"`,
			},
		},
		{
			name: "missing tier, missing class, unknown tier",
			yaml: "name: x\nttl:\n  free: {userProfile: 1, tier: 2, conversations: 3}\n" +
				"  core: {userProfile: 1, tier: 2, conversations: 3, apiResponses: 4}\n" +
				"  premium: {userProfile: 1}\n",
			want: []string{
				`configs/x.yaml:3: ttl.free: missing class "apiResponses"`,
				`configs/x.yaml:5: ttl: unknown field "premium"`,
				`configs/x.yaml:2: ttl: missing tier "studio"`,
			},
		},
		{
			name: "no ttl at all",
			yaml: "name: x\n",
			want: []string{`configs/x.yaml: ttl: missing (every tier and class need a TTL; write disabled: true for no cache)`},
		},
		{
			name: "jitter out of range, bad bool, bad breaker, duplicate",
			yaml: minimalTTL + "jitter: 1\nwarm: yes\nbreaker: {failures: 0, openFor: 0s}\njitter: 0.2\n",
			want: []string{
				`configs/x.yaml:5: jitter: must be in [0, 1), got 1`,
				`configs/x.yaml:6: warm: want true or false, got "yes"`,
				`configs/x.yaml:7: breaker.failures: must be >= 1, got 0`,
				`configs/x.yaml:7: breaker.openFor: must be > 0, got 0s`,
				`configs/x.yaml:8: duplicate field "jitter" (first at line 5)`,
			},
		},
		{
			name: "a value of the wrong kind names its field",
			yaml: minimalTTL + "breaker:\n  failures: [3]\n  openFor: {s: 1}\nname: [a]\n",
			want: []string{
				`configs/x.yaml:6: breaker.failures: want a whole number, got a list`,
				`configs/x.yaml:7: breaker.openFor: want a Go duration like 50ms, got a mapping`,
				`configs/x.yaml:8: name: want a text, got a list`,
			},
		},
		{
			name: "warming budgets out of range and unknown fields name the field",
			yaml: minimalTTL + "warming: {maxUsers: -1, maxKeys: 0, maxMiB: 0, opsPerSec: -5, deadline: 0s, users: 3}\n",
			want: []string{
				`configs/x.yaml:5: warming.maxUsers: must be >= 0 (0 = no cap of its own), got -1`,
				`configs/x.yaml:5: warming.maxKeys: must be >= 1, got 0`,
				`configs/x.yaml:5: warming.maxMiB: must be >= 1, got 0`,
				`configs/x.yaml:5: warming.opsPerSec: must be >= 1, got -5`,
				`configs/x.yaml:5: warming.deadline: must be > 0, got 0s`,
				`configs/x.yaml:5: warming: unknown field "users"`,
			},
		},
		{
			name: "a second document",
			yaml: minimalTTL + "---\nname: y\n",
			want: []string{`configs/x.yaml:5: only one YAML document is allowed`},
		},
		{
			name: "not a mapping",
			yaml: "- a\n- b\n",
			want: []string{`configs/x.yaml:1: want a mapping of cache config fields (name, disabled, ttl, jitter, warm, warming, redis, breaker, unsafe), got a list`},
		},
		{
			name: "empty",
			yaml: "",
			want: []string{`configs/x.yaml: empty config`},
		},
		{
			name: "YAML syntax",
			yaml: "ttl: {free: [\n",
			want: []string{`configs/x.yaml:1: did not find expected node content`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("configs/x.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, tc.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestNewClient(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Redis.PoolSize = 7

	c, err := NewClient("redis://alice:s3cret@127.0.0.1:6390/3?read_timeout=10s&max_retries=5", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	o := c.(*redis.Client).Options()
	if o.Addr != "127.0.0.1:6390" || o.DB != 3 || o.Username != "alice" || o.Password != "s3cret" || o.TLSConfig != nil {
		t.Errorf("parsed %s db %d user %q tls %v", o.Addr, o.DB, o.Username, o.TLSConfig != nil)
	}
	// Fail-fast settings win over the URL's query (after go-redis normalization: MaxRetries -1 -> 0).
	if !o.ContextTimeoutEnabled || o.DialTimeout != 100*time.Millisecond || o.ReadTimeout != 50*time.Millisecond ||
		o.WriteTimeout != 50*time.Millisecond || o.MaxRetries != 0 || o.DialerRetries != 1 ||
		o.PoolTimeout != 100*time.Millisecond || o.PoolSize != 7 {
		t.Errorf("options not fail-fast: %+v", o)
	}

	tls, err := NewClient("rediss://h.example:6380", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tls.Close()
	if o := tls.(*redis.Client).Options(); o.TLSConfig == nil || o.TLSConfig.ServerName != "h.example" {
		t.Errorf("rediss: TLS not configured")
	}

	bare, err := NewClient("127.0.0.1:6391", Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	if o := bare.(*redis.Client).Options(); o.Addr != "127.0.0.1:6391" || o.ReadTimeout != DefaultReadTimeout {
		t.Errorf("bare host:port: %s %v", o.Addr, o.ReadTimeout)
	}

	for _, u := range []string{"127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002", "redis+cluster://u:p@127.0.0.1:7000?addr=127.0.0.1:7001&addr=127.0.0.1:7002"} {
		cc, err := NewClient(u, cfg)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		o := cc.(*redis.ClusterClient).Options()
		if !slices.Equal(o.Addrs, []string{"127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"}) ||
			!o.ContextTimeoutEnabled || o.ReadTimeout != 50*time.Millisecond || o.DialerRetries != 1 || o.PoolSize != 7 {
			t.Errorf("%s: cluster options %+v", u, o)
		}
		cc.Close()
	}
	// Replica reads: ReadOnly + RouteRandomly on a cluster client only.
	rcfg := cfg
	rcfg.Redis.ReadFromReplicas = true
	cc, err := NewClient("127.0.0.1:7000,127.0.0.1:7001", rcfg)
	if err != nil {
		t.Fatal(err)
	}
	if o := cc.(*redis.ClusterClient).Options(); !o.ReadOnly || !o.RouteRandomly {
		t.Errorf("readFromReplicas: ReadOnly %v RouteRandomly %v", o.ReadOnly, o.RouteRandomly)
	}
	cc.Close()

	for _, bad := range []string{"", "http://x:1", "redis://h:1/notadb", "redis://h:1/?bogus=1"} {
		if c, err := NewClient(bad, cfg); err == nil {
			c.Close()
			t.Errorf("NewClient(%q): no error", bad)
		}
	}
	if _, err := NewClient("redis://bob:hunter2@h:1/x", cfg); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("password not redacted: %v", err)
	}
}

// TestConfigFieldNames: the parser's field names are the config types' JSON names, so
// the two spellings cannot drift apart (Source is set by the loader, not read).
func TestConfigFieldNames(t *testing.T) {
	jsonNames := func(v any) []string {
		var out []string
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			if name != "" && name != "-" && name != "source" {
				out = append(out, name)
			}
		}
		slices.Sort(out)
		return out
	}
	p := &configParser{}
	for _, tc := range []struct {
		v      any
		fields []field
	}{
		{Config{}, p.configFields(nil, nil, nil)},
		{RedisConfig{}, p.redisFields(nil)},
		{UnsafeConfig{}, p.unsafeFields(&UnsafeConfig{})},
		{BreakerConfig{}, p.breakerFields(nil)},
		{WarmingConfig{}, p.warmingFields(&WarmingConfig{})},
	} {
		got := names(tc.fields)
		slices.Sort(got)
		if want := jsonNames(tc.v); !slices.Equal(got, want) {
			t.Errorf("%T: the parser reads %q, the JSON names are %q", tc.v, got, want)
		}
	}
}

// TestRedactURL: every password of a URL or a list of them is hidden, nothing else changes.
func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"redis://u:secret@h:6379/0", "redis://u:xxxxx@h:6379/0"},
		{"redis://:secret@h:6379", "redis://:xxxxx@h:6379"},
		{"redis://h:6379", "redis://h:6379"}, // no password
		{"postgres://me:pw@db:5432/x?sslmode=disable", "postgres://me:xxxxx@db:5432/x?sslmode=disable"},
		{"redis://a:p1@h1:1,redis://b:p2@h2:2", "redis://a:xxxxx@h1:1,redis://b:xxxxx@h2:2"}, // a list
		{"h1:6379,h2:6379", "h1:6379,h2:6379"},                                               // no scheme
		{"redis://u:p@ss@h:1", "redis://u:xxxxx@h:1"},                                        // an @ in the password
	} {
		if got := RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
