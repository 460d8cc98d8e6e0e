package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// TestClientCaches runs a seconds-long scenario with two devices per user, each keeping and
// revalidating its answers, with tier changes and a Redis kill: the default layer answers
// 304s that are all correct (0 stale reads, client-visible or not), and a layer whose ETags
// ignore the tier is caught with client-visible stale reads.
func TestClientCaches(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		config string
		code   int
	}{
		{"default", 0},
		{"weak-validator", exitFail},
	} {
		t.Run(tc.config, func(t *testing.T) {
			t.Parallel()
			config := tc.config
			if config != "default" {
				config = filepath.Join("testdata", config+".yaml")
			}
			out := t.TempDir()
			stdout, stderr, code := runBench(t, context.Background(), nil, "run", "-scenario", "testdata/clients.yaml",
				"-config", config, "-mode", "cache", "-redis", "process", "-out", out, "-quiet")
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, stdout, stderr)
			}
			dir := filepath.Join(out, "latest")
			s := readValidSummary(t, dir)
			cc := s.ClientCache
			if cc == nil || cc.Devices != 2 {
				t.Fatalf("client_cache %+v, want the figures of 2 devices per user", cc)
			}
			tot := cc.Total
			t.Logf("%s: %d GETs, %d conditional, %d 304 (%.3f), %d bytes saved, p50 304 %.3f ms vs 200 %.3f ms, %.2f Redis commands per 304, %d DB loads saved, %d from the body, %d client stale reads; stale reads %d, tier violations %v",
				tc.config, tot.Gets, tot.Conditional, tot.NotModified, tot.Share304, tot.BytesSaved, tot.P50304MS, tot.P50200MS,
				tot.RedisCommandsPer304, tot.DBLoadsSaved, tot.FromBody, tot.StaleReads, s.StaleReads, s.Extra["tier_violations"])
			if tot.NotModified == 0 || tot.BytesSaved == 0 || tot.Conditional < tot.NotModified {
				t.Errorf("no revalidation measured: %+v", tot)
			}
			if tc.code == 0 {
				if s.StaleReads != 0 || tot.StaleReads != 0 || s.IsolationViolations != 0 || s.Errors != 0 {
					t.Errorf("default layer: stale %d (client %d), isolation %d, errors %d; want 0 (%+v)",
						s.StaleReads, tot.StaleReads, s.IsolationViolations, s.Errors, s.Examples)
				}
				// Every 304 Redis vouched for read it at least once (the one MGET; more only when
				// the tier lookup had to fill, as after the restart); refserver's
				// TestConditionalGETFromOneMGET counts exactly one on warm entries.
				if tot.RedisCommandsPer304 < 1 {
					t.Errorf("Redis commands per 304: %v, want >= 1", tot.RedisCommandsPer304)
				}
				return
			}
			if tot.StaleReads == 0 || s.StaleReads < tot.StaleReads {
				t.Errorf("weakened validator: %d client stale reads (stale reads %d), want the copies made under the old tier caught",
					tot.StaleReads, s.StaleReads)
			}
		})
	}
}

// TestCompareClientCaches: bench compare -client-caches runs the scenario with the devices'
// caches off, then on, and shows the client-cache rows side by side.
func TestCompareClientCaches(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	stdout, stderr, code := runBench(t, context.Background(), nil, "compare", "-scenario", "testdata/clients.yaml",
		"-config", "default", "-client-caches", "-duration", "4s", "-redis", "process", "-out", out, "-quiet")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	root, err := filepath.EvalSymlinks(filepath.Join(out, "latest-compare"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(out, "latest")); err == nil {
		t.Error("bench compare moved reports/latest")
	}
	off, err := summary.Read(filepath.Join(root, "default-client-caches-off", "latest"))
	if err != nil {
		t.Fatal(err)
	}
	on, err := summary.Read(filepath.Join(root, "default-client-caches-on", "latest"))
	if err != nil {
		t.Fatal(err)
	}
	if off.ClientCache != nil || on.ClientCache == nil || on.ClientCache.Total.NotModified == 0 {
		t.Fatalf("client_cache off %+v, on %+v: want none off, 304s on", off.ClientCache, on.ClientCache)
	}
	md, err := os.ReadFile(filepath.Join(root, "compare.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"default, client caches off", "default, client caches on", "client caches: share of GETs answered 304", "client caches: body bytes saved"} {
		if !strings.Contains(string(md), want) || !strings.Contains(stdout, want) {
			t.Errorf("compare table lacks %q:\n%s", want, stdout)
		}
	}
}
