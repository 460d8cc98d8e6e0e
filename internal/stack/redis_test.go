package stack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/redisproc"
	"github.com/atlasbench/atlasbench/internal/testutil"
	"github.com/atlasbench/atlasbench/scenarios"
	"github.com/redis/go-redis/v9"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestRedisBackends starts each backend that can run here, kills it and starts it again
// empty on the same address. Docker is optional: without an engine the test says why.
func TestRedisBackends(t *testing.T) {
	for _, backend := range []string{BackendProcess, BackendEmbedded, BackendDocker} {
		t.Run(backend, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if backend == BackendDocker {
				if err := DockerAvailable(ctx); err != nil {
					t.Skipf("Docker backend not tested: %v", err)
				}
			}
			r, err := StartRedis(ctx, RedisOptions{Spec: backend, Log: quiet})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Backend != backend {
				t.Fatalf("backend %q, want %q", r.Backend, backend)
			}
			if (backend == BackendEmbedded) != (r.Note != "") {
				t.Fatalf("note %q: only the embedded backend carries one", r.Note)
			}
			addr := r.URL[len("redis://"):]
			if err := redisproc.Ping(addr, time.Second); err != nil {
				t.Fatal(err)
			}
			if err := r.Kill(); err != nil {
				t.Fatal(err)
			}
			if err := redisproc.Ping(addr, 200*time.Millisecond); err == nil {
				t.Fatal("still answering after Kill")
			}
			if err := r.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if err := redisproc.Ping(addr, time.Second); err != nil {
				t.Fatalf("not answering after Start: %v", err)
			}
		})
	}
}

func TestStartRedisSpecs(t *testing.T) {
	r, err := StartRedis(context.Background(), RedisOptions{Spec: "redis://127.0.0.1:6399"})
	if err != nil || r.Backend != BackendExternal {
		t.Fatalf("external URL: %+v, %v", r, err)
	}
	if err := r.Kill(); err == nil {
		t.Fatal("killing an external Redis must be refused")
	}
	if _, err := StartRedis(context.Background(), RedisOptions{Spec: "memcached"}); err == nil {
		t.Fatal("an unknown -redis spec must be an error")
	}
}

// TestClusterBackend starts a 3×1 cluster behind per-node fault proxies, checks that the
// nodes announce the proxies (a cluster client only ever dials them), and aims faults at
// one node: refusing master-2's proxy fails only its shard's keys.
func TestClusterBackend(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := StartRedis(ctx, RedisOptions{Spec: BackendCluster, Cluster: &ClusterShape{Masters: 3, Replicas: 1, NodeTimeout: 500 * time.Millisecond}, Proxies: true, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Backend != BackendCluster || r.Cluster == nil || len(r.Proxies) != 6 {
		t.Fatalf("backend %q, cluster %v, %d proxies", r.Backend, r.Cluster, len(r.Proxies))
	}
	st := &Stack{Redis: r, log: quiet}
	proxied := map[string]bool{}
	for _, p := range r.Proxies {
		proxied[p.Addr()] = true
	}
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(r.URL, ","), MaxRedirects: 1,
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer cl.Close()
	slots, err := cl.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slots {
		for _, n := range s.Nodes {
			if !proxied[n.Addr] {
				t.Fatalf("slots %d-%d served at %s, not a fault proxy", s.Start, s.End, n.Addr)
			}
		}
	}
	// One key per shard, by hash tag.
	keyOf := map[int]string{}
	for i := 0; len(keyOf) < 3; i++ {
		k := fmt.Sprintf("{u:u%d}:x", i)
		shard := redisproc.RangeOfSlot(redisproc.KeySlot(k), 3)
		if _, ok := keyOf[shard]; !ok {
			keyOf[shard] = k
			if err := cl.Set(ctx, k, "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := st.Supports(scenarios.Fault{Do: scenarios.FaultRefuseRedis, Node: "master-9"}); err == nil {
		t.Fatal("a node the cluster does not have must be refused")
	}
	if err := st.Fault(ctx, scenarios.Fault{Do: scenarios.FaultRefuseRedis, Node: "master-2"}); err != nil {
		t.Fatal(err)
	}
	for shard, k := range keyOf {
		err := cl.Get(ctx, k).Err()
		if (shard == 2) != (err != nil) {
			t.Fatalf("master-2 refused: GET of shard %d's key: %v", shard, err)
		}
	}
	if err := st.Fault(ctx, scenarios.Fault{Do: scenarios.FaultHealRedis}); err != nil {
		t.Fatal(err)
	}
	if err := cl.Get(ctx, keyOf[2]).Err(); err != nil {
		t.Fatalf("after heal-redis: %v", err)
	}
	// Kill master-1: its replica is promoted and, once the client's slot map is
	// reloaded, serves the shard with what the replica had copied.
	if err := st.Fault(ctx, scenarios.Fault{Do: scenarios.FaultKillRedis, Node: "master-1"}); err != nil {
		t.Fatal(err)
	}
	for ctx.Err() == nil {
		cl.ReloadState(ctx)
		if v, err := cl.Get(ctx, keyOf[1]).Result(); err == nil && v == "v" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := st.Fault(ctx, scenarios.Fault{Do: scenarios.FaultStartRedis, Node: "master-1"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Cluster.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Fault(ctx, scenarios.Fault{Do: scenarios.FaultFailover, Node: "master-1"}); err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{}
	for _, n := range r.Cluster.Topology(ctx) {
		roles[n.Name] = n.Role
	}
	if roles["master-1"] != redisproc.RoleMaster || roles["replica-1"] != redisproc.RoleReplica {
		t.Fatalf("after the failover back: %v", roles)
	}
	total, bad, err := st.AuditKeys(ctx, 10)
	if err != nil || total != 3 || len(bad) != 3 {
		t.Fatalf("audit: %d keys, bad %v, %v (want the 3 test keys, all outside the namespace)", total, bad, err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRedisPersistence: a harness-started Redis killed (SIGKILL) and started again comes back
// empty without persistence and with every acknowledged key under AOF (appendonly yes,
// everysec, once the AOF buffer is written), for a single Redis and for a cluster node (its
// own directory is reused).
func TestRedisPersistence(t *testing.T) {
	const n = 200
	for _, tc := range []struct {
		backend, persistence string
		want                 int64
	}{
		{BackendProcess, redisproc.PersistenceNone, 0},
		{BackendProcess, redisproc.PersistenceAOF, n},
		{BackendCluster, redisproc.PersistenceNone, 0},
		{BackendCluster, redisproc.PersistenceAOF, n},
	} {
		t.Run(tc.backend+"/"+tc.persistence, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			r, err := StartRedis(ctx, RedisOptions{Spec: tc.backend, Persistence: tc.persistence, Log: quiet,
				Cluster: &ClusterShape{Masters: 1, Replicas: 0, NodeTimeout: 500 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			st := &Stack{Redis: r, log: quiet}
			addr := strings.TrimPrefix(r.URL, "redis://")
			fault := scenarios.Fault{}
			if r.Cluster != nil {
				node, _ := r.Cluster.Node("master-1")
				addr, fault.Node = node.Addr(), "master-1"
			}
			cl := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
			defer cl.Close()
			for i := range n {
				if err := cl.Set(ctx, fmt.Sprintf("{k}%d", i), "v", 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
			if tc.persistence == redisproc.PersistenceAOF {
				// With everysec Redis postpones writing the AOF (for up to 2 s) while a background
				// fsync still runs, replies sent all the same: wait until nothing is left unwritten.
				testutil.WaitFor(t, "the AOF buffer written", func() bool {
					info, err := cl.Info(ctx, "persistence").Result()
					if err != nil {
						t.Fatal(err)
					}
					return strings.Contains(info, "aof_buffer_length:0\r") && strings.Contains(info, "aof_pending_bio_fsync:0\r")
				})
			}
			for _, verb := range []string{scenarios.FaultKillRedis, scenarios.FaultStartRedis} {
				fault.Do = verb
				if err := st.Fault(ctx, fault); err != nil {
					t.Fatal(err)
				}
			}
			got, err := cl.DBSize(ctx).Result()
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("after kill and start: %d keys, want %d", got, tc.want)
			}
		})
	}
}
