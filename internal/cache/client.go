package cache

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Fail-fast client settings that are not in the config.
const (
	clientPoolTimeout     = 100 * time.Millisecond // waiting for a free connection
	clientMinRetryBackoff = 2 * time.Millisecond   // retries are off; kept small in case a caller enables them
	clientMaxRetryBackoff = 20 * time.Millisecond
)

// NewClient returns a go-redis client for redisURL with fail-fast settings from
// cfg.Redis. redisURL is one of:
//
//	redis://[user:password@]host:port[/db]    a single server (rediss:// for TLS)
//	host:port                                 the same as redis://host:port
//	host1:6379,host2:6379                     a Redis Cluster, seeded with these nodes
//	redis+cluster://[user:password@]host:port[?addr=host2:port]  a Redis Cluster (rediss+cluster:// for TLS)
//
// Whatever the URL's query says, the client always gets: ContextTimeoutEnabled,
// DialTimeout/ReadTimeout/WriteTimeout from cfg.Redis (defaults 100ms/50ms/50ms),
// no command retries (MaxRetries -1: a retry of a timeout doubles the wait), one
// dial attempt (DialerRetries 1), a 100ms PoolTimeout and PoolSize from cfg
// (0 = go-redis default); a cluster client with cfg.Redis.ReadFromReplicas also gets
// ReadOnly and RouteRandomly. The caller closes the client.
func NewClient(redisURL string, cfg Config) (redis.UniversalClient, error) {
	cfg = cfg.withDefaults()
	u := strings.TrimSpace(redisURL)
	if u == "" {
		return nil, errors.New("cache: empty Redis URL")
	}
	if cluster, ok := clusterURL(u); ok {
		opt, err := redis.ParseClusterURL(cluster)
		if err != nil {
			return nil, fmt.Errorf("cache: Redis cluster URL %q: %w", RedactURL(redisURL), err)
		}
		if err := trustCA(opt.TLSConfig, cfg.Redis.CACert); err != nil {
			return nil, err
		}
		if cfg.Unsafe.ClientDefaults {
			return redis.NewClusterClient(opt), nil // go-redis defaults: the weakened layer of a demonstration
		}
		failFastCluster(opt, cfg.Redis)
		if cfg.Redis.ReadFromReplicas {
			// Read-only commands go to a random node of the key's slot range (master or
			// replica); every invalidation waits for the slot range's replicas (bumpGens).
			opt.ReadOnly, opt.RouteRandomly = true, true
		}
		return redis.NewClusterClient(opt), nil
	}
	if !strings.Contains(u, "://") {
		u = "redis://" + u
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		return nil, fmt.Errorf("cache: Redis URL %q: %w", RedactURL(redisURL), err)
	}
	if err := trustCA(opt.TLSConfig, cfg.Redis.CACert); err != nil {
		return nil, err
	}
	if cfg.Unsafe.ClientDefaults {
		return redis.NewClient(opt), nil // go-redis defaults: the weakened layer of a demonstration
	}
	failFast(opt, cfg.Redis)
	return redis.NewClient(opt), nil
}

// failFast sets the fail-fast settings (NewClient's) on one server's options: the one
// place they are spelled.
func failFast(o *redis.Options, r RedisConfig) {
	o.ContextTimeoutEnabled = true
	o.DialTimeout = r.DialTimeout
	o.ReadTimeout = r.ReadTimeout
	o.WriteTimeout = r.WriteTimeout
	o.MaxRetries = -1
	o.MinRetryBackoff = clientMinRetryBackoff
	o.MaxRetryBackoff = clientMaxRetryBackoff
	o.DialerRetries = 1
	o.PoolTimeout = clientPoolTimeout
	o.PoolSize = r.PoolSize
	o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
}

// failFastCluster sets on a cluster's options what failFast sets on one server's.
func failFastCluster(o *redis.ClusterOptions, r RedisConfig) {
	var f redis.Options
	failFast(&f, r)
	o.ContextTimeoutEnabled, o.DialTimeout, o.ReadTimeout, o.WriteTimeout = f.ContextTimeoutEnabled, f.DialTimeout, f.ReadTimeout, f.WriteTimeout
	o.MaxRetries, o.MinRetryBackoff, o.MaxRetryBackoff, o.DialerRetries = f.MaxRetries, f.MinRetryBackoff, f.MaxRetryBackoff, f.DialerRetries
	o.PoolTimeout, o.PoolSize, o.MaintNotificationsConfig = f.PoolTimeout, f.PoolSize, f.MaintNotificationsConfig
}

// clusterURL rewrites the cluster forms of a Redis URL into the one
// redis.ParseClusterURL reads (redis[s]://first?addr=second&addr=…).
func clusterURL(s string) (string, bool) {
	for _, scheme := range []string{"redis+cluster://", "rediss+cluster://"} {
		if rest, ok := strings.CutPrefix(s, scheme); ok {
			return strings.TrimSuffix(scheme, "+cluster://") + "://" + rest, true
		}
	}
	if !strings.Contains(s, ",") {
		return "", false
	}
	parts := strings.Split(s, ",")
	first := strings.TrimSpace(parts[0])
	if !strings.Contains(first, "://") {
		first = "redis://" + first
	}
	fu, err := url.Parse(first)
	if err != nil {
		return first, true // ParseClusterURL reports it
	}
	q := fu.Query()
	for _, p := range parts[1:] {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if strings.Contains(p, "://") {
			if pu, err := url.Parse(p); err == nil {
				p = pu.Host
			}
		}
		if _, _, err := net.SplitHostPort(p); err != nil {
			p = net.JoinHostPort(p, "6379")
		}
		q.Add("addr", p)
	}
	fu.RawQuery = q.Encode()
	return fu.String(), true
}

// RedactURL hides the password of every user:password@ part of a URL, or of a
// comma-separated list of them, for messages: "redis://u:xxxxx@h:6379". It is the one
// redaction of the module's Redis and database URLs.
func RedactURL(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "://")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+3])
		s = s[i+3:]
		end := strings.IndexAny(s, "/?#,")
		if end < 0 {
			end = len(s)
		}
		if at := strings.LastIndex(s[:end], "@"); at >= 0 {
			if colon := strings.Index(s[:at], ":"); colon >= 0 {
				b.WriteString(s[:colon+1] + "xxxxx")
				s = s[at:]
			}
		}
	}
}

// trustCA makes a rediss:// connection trust only the CAs in the PEM file caFile (the
// config's redis.caCert). It is an error to name a CA for a plain-text URL.
func trustCA(tlsConfig *tls.Config, caFile string) error {
	if caFile == "" {
		return nil
	}
	if tlsConfig == nil {
		return fmt.Errorf("cache: redis.caCert %s is set but the Redis URL is not rediss://", caFile)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return fmt.Errorf("cache: redis.caCert: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("cache: redis.caCert %s: no PEM certificate in it", caFile)
	}
	tlsConfig.RootCAs = pool
	return nil
}
