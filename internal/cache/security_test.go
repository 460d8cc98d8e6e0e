package cache_test

// Redis security options: the cache layer works under an
// ACL user limited to ~atlas:* without @dangerous, with the default user off,
// and over TLS (rediss://).

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/redisproc"
	"github.com/atlasbench/atlasbench/internal/testutil"
	"github.com/redis/go-redis/v9"
)

// secACL is the production ACL of the README, as redis-server arguments: the
// default user off, one user limited to the cache's keys and without
// @dangerous (KEYS, FLUSHALL, FLUSHDB, CONFIG, DEBUG, INFO, MONITOR, …).
var secACL = []string{
	"--user", "default", "off",
	"--user", "atlas", "on", ">s3cret", "~atlas:*", "+@all", "-@dangerous",
}

// secConfig is the default config with timeouts loose enough for a loaded
// machine under -race and for TLS handshakes.
func secConfig() cache.Config {
	cfg := cache.DefaultConfig()
	cfg.Redis.DialTimeout, cfg.Redis.ReadTimeout, cfg.Redis.WriteTimeout = 5*time.Second, 5*time.Second, 5*time.Second
	return cfg
}

func secClient(t *testing.T, url string) redis.UniversalClient {
	t.Helper()
	c, err := cache.NewClient(url, secConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// secDB is the database behind the loaders: each user's tier and profile.
type secDB struct {
	tiers map[string]string
	calls atomic.Int64
}

func (d *secDB) tier(user string) func(context.Context) ([]byte, error) {
	return func(context.Context) ([]byte, error) {
		d.calls.Add(1)
		return []byte(d.tiers[user]), nil
	}
}

func (d *secDB) value(v string) func(context.Context) ([]byte, error) {
	return func(context.Context) ([]byte, error) {
		d.calls.Add(1)
		return []byte(v), nil
	}
}

func (d *secDB) warmer(ctx context.Context, ids []string) ([]cache.WarmEntry, error) {
	if ids == nil {
		ids = []string{"w1", "w2"}
	}
	out := make([]cache.WarmEntry, 0, len(ids))
	for _, id := range ids {
		out = append(out, cache.WarmEntry{UserID: id, Tier: d.tiers[id], Profile: []byte(`{"userId":"` + id + `"}`)})
	}
	return out, nil
}

func secExpect(t *testing.T, c *cache.Cache, user string, class cache.Class, tier, resource string, load func(context.Context) ([]byte, error), want string, wantOutcome cache.Outcome) {
	t.Helper()
	ctx := context.Background()
	got, o, err := c.User(ctx, user).Load(ctx, class, tier, resource, load)
	if err != nil || string(got) != want || o != wantOutcome {
		t.Fatalf("Load(%s %s %s %q) = %q, %v, %v; want %q, %v", user, class, tier, resource, got, o, err, want, wantOutcome)
	}
}

// secEndToEnd drives a Cache through every Redis path it has: loads (MISS,
// then HIT) of every class, an invalidation, warming, health; and fails on
// any Redis error the layer swallowed (a refused command would only show as
// a BYPASS and an error count).
func secEndToEnd(t *testing.T, client redis.UniversalClient) {
	t.Helper()
	ctx := context.Background()
	db := &secDB{tiers: map[string]string{"u1": "core", "w1": "free", "w2": "studio"}}
	c := cache.New(client, cache.Options{Config: secConfig(), Warmer: db.warmer})

	const res = "messages/c1?limit=50"
	for _, want := range []cache.Outcome{cache.Miss, cache.Hit} {
		secExpect(t, c, "u1", cache.ClassTier, "", "", db.tier("u1"), "core", want)
		secExpect(t, c, "u1", cache.ClassUserProfile, "core", "", db.value("profile-1"), "profile-1", want)
		secExpect(t, c, "u1", cache.ClassConversations, "core", "", db.value("[c1]"), "[c1]", want)
		secExpect(t, c, "u1", cache.ClassAPIResponses, "core", res, db.value("[m1]"), "[m1]", want)
	}
	if n := db.calls.Load(); n != 4 {
		t.Fatalf("loader calls = %d, want 4 (one per entry)", n)
	}

	// A tier change: the write is committed, then everything of u1 is invalidated.
	db.tiers["u1"] = "studio"
	if err := c.Invalidate(ctx, "u1", cache.ScopeAll); err != nil {
		t.Fatalf("Invalidate: %v (a refused INCR would leave the user pending)", err)
	}
	secExpect(t, c, "u1", cache.ClassTier, "", "", db.tier("u1"), "studio", cache.Miss)
	secExpect(t, c, "u1", cache.ClassTier, "", "", db.tier("u1"), "studio", cache.Hit)
	secExpect(t, c, "u1", cache.ClassUserProfile, "studio", "", db.value("profile-2"), "profile-2", cache.Miss)

	if _, err := c.WarmStart(ctx); err != nil {
		t.Fatalf("WarmStart: %v", err)
	}
	calls := db.calls.Load()
	secExpect(t, c, "w1", cache.ClassTier, "", "", db.tier("w1"), "free", cache.Hit)
	secExpect(t, c, "w2", cache.ClassUserProfile, "studio", "", db.value("unused"), `{"userId":"w2"}`, cache.Hit)
	if db.calls.Load() != calls {
		t.Error("a warmed entry called its loader")
	}

	for class, s := range c.Stats() {
		if s.Errors != 0 || s.Bypasses != 0 {
			t.Errorf("stats[%s] = %+v, want no Redis error and no bypass", class, s)
		}
	}
	if h := c.Health(ctx); !h.Up || h.Breaker != "closed" || h.Pending != 0 {
		t.Errorf("Health = %+v, want up, closed, nothing pending", h)
	}
}

// wantRedisError asserts err is a Redis error reply starting with prefix.
func wantRedisError(t *testing.T, what string, err error, prefix string) {
	t.Helper()
	var rerr redis.Error
	if err == nil || !errors.As(err, &rerr) || !strings.HasPrefix(err.Error(), prefix) {
		t.Errorf("%s: %v, want a %s error reply", what, err, prefix)
	}
}

func TestSecurityACL(t *testing.T) {
	srv := testutil.Redis(t, secACL...)
	ctx := context.Background()
	app := secClient(t, "redis://atlas:s3cret@"+srv.Addr())

	t.Run("cache works with the app's credentials", func(t *testing.T) {
		if who, err := app.Do(ctx, "ACL", "WHOAMI").Text(); err != nil || who != "atlas" {
			t.Fatalf("ACL WHOAMI = %q, %v; want atlas", who, err)
		}
		secEndToEnd(t, app)
	})

	t.Run("dangerous commands are refused", func(t *testing.T) {
		if err := app.Set(ctx, "atlas:canary", "still here", 0).Err(); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range [][]any{
			{"KEYS", "*"},
			{"KEYS", "atlas:*"},
			{"FLUSHALL"},
			{"FLUSHDB"},
			{"CONFIG", "GET", "requirepass"},
			{"CONFIG", "SET", "maxmemory", "1"},
			{"INFO"},
			{"MONITOR"},
		} {
			wantRedisError(t, fmt.Sprint(cmd), app.Do(ctx, cmd...).Err(), "NOPERM")
		}
		if got, err := app.Get(ctx, "atlas:canary").Result(); err != nil || got != "still here" {
			t.Fatalf("after the refused FLUSHALL: GET atlas:canary = %q, %v", got, err)
		}
	})

	t.Run("keys outside atlas:* are refused", func(t *testing.T) {
		for _, cmd := range [][]any{
			{"SET", "other", "1"},
			{"GET", "other"},
			{"DEL", "session:1"},
			{"SET", "atlasx:1", "1"}, // the pattern is "atlas:", not "atlas"
			{"MGET", "atlas:a", "other"},
		} {
			wantRedisError(t, fmt.Sprint(cmd), app.Do(ctx, cmd...).Err(), "NOPERM")
		}
	})

	t.Run("no credentials: every command is refused", func(t *testing.T) {
		anon := secClient(t, srv.URL())
		for _, cmd := range [][]any{
			{"PING"},
			{"GET", "atlas:canary"},
			{"SET", "atlas:x", "1"},
			{"KEYS", "*"},
			{"FLUSHALL"},
		} {
			wantRedisError(t, fmt.Sprint(cmd), anon.Do(ctx, cmd...).Err(), "NOAUTH")
		}
		wrong := secClient(t, "redis://atlas:wrong@"+srv.Addr())
		wantRedisError(t, "PING with a wrong password", wrong.Ping(ctx).Err(), "WRONGPASS")

		// Misconfigured credentials never fail a request: the cache answers
		// from the loader (BYPASS) and counts the error.
		c := cache.New(anon, cache.Options{Config: secConfig()})
		secExpect(t, c, "u1", cache.ClassTier, "", "", func(context.Context) ([]byte, error) { return []byte("core"), nil }, "core", cache.Bypass)
		if s := c.Stats()[cache.ClassTier]; s.Errors == 0 {
			t.Errorf("stats = %+v, want the NOAUTH counted as an error", s)
		}
	})
}

// TLS: a throw-away CA signs the server's certificate; the client trusts it through the
// config's redis.caCert, and without it the handshake must fail on the certificate.
func TestSecurityTLS(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := writeTestPKI(t, dir)
	tlsPort, err := redisproc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	// The plain port stays open beside the TLS one: redisproc's readiness
	// check is a plain-text PING (a TLS-only child, --port 0, never becomes
	// ready). It is only used for that check.
	args := append([]string{
		"--tls-port", strconv.Itoa(tlsPort),
		"--tls-cert-file", certFile,
		"--tls-key-file", keyFile,
		"--tls-ca-cert-file", caFile,
		"--tls-auth-clients", "no",
	}, secACL...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv, err := redisproc.Start(ctx, redisproc.Options{Args: args})
	if err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "tls") {
			t.Skipf("redis-server lacks TLS support: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	tlsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort))
	url := "rediss://atlas:s3cret@" + tlsAddr

	// In this process the test CA is not trusted: the handshake must fail on
	// the certificate, which proves the client verifies it.
	err = secClient(t, url).Ping(ctx).Err()
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("rediss:// PING without trusting the test CA: %v, want x509.UnknownAuthorityError", err)
	}
	// Plain RESP on the TLS port does not work either (the server waits for a
	// handshake: a short timeout is enough).
	plainCfg := cache.DefaultConfig()
	plain, err := cache.NewClient("redis://atlas:s3cret@"+tlsAddr, plainCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := plain.Ping(ctx).Err(); err == nil {
		t.Fatal("plain-text PING on the TLS port succeeded")
	}

	// With the CA in the config, the cache runs end to end over TLS, under the same ACL.
	cfg := secConfig()
	cfg.Redis.CACert = caFile
	client, err := cache.NewClient(url, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := client.Ping(ctx).Err(); err != nil {
		t.Fatalf("rediss:// PING trusting the test CA: %v", err)
	}
	secEndToEnd(t, client)
	wantRedisError(t, "FLUSHALL over TLS", client.Do(ctx, "FLUSHALL").Err(), "NOPERM")

	// A CA for a plain-text URL, or a file with no certificate, is a configuration error.
	if _, err := cache.NewClient("redis://"+tlsAddr, cfg); err == nil || !strings.Contains(err.Error(), "not rediss://") {
		t.Fatalf("caCert with redis://: %v", err)
	}
	cfg.Redis.CACert = keyFile
	if _, err := cache.NewClient(url, cfg); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("caCert without a certificate: %v", err)
	}
}

// writeTestPKI writes a throw-away CA and a server certificate for 127.0.0.1
// and localhost signed by it (ECDSA P-256, valid for an hour) into dir, as
// PEM files: ca.pem, server.pem and server-key.pem (PKCS #8).
func writeTestPKI(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "atlasbench test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "atlasbench test redis"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	return write("ca.pem", "CERTIFICATE", caDER),
		write("server.pem", "CERTIFICATE", srvDER),
		write("server-key.pem", "PRIVATE KEY", keyDER)
}
