package witness

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/cache"
	"github.com/atlasbench/atlasbench/internal/metrics"
	"github.com/atlasbench/atlasbench/internal/redisproc"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/internal/testutil"
)

// TestClusterCommandsAgree drives the real cache over a healthy 3 masters × 1 replica Redis
// Cluster (reads, fills, invalidations: MGET, SET, MULTI/INCR/PEXPIRE/EXEC) and judges what
// its go-redis hook counted against the witness's INFO of every node: they agree exactly,
// command by command, because the witness counts what clients sent (the masters' commands,
// and the replicas' reads when the cache reads from replicas), not the replication stream
// the replicas re-run, the replicas' REPLCONF ACKs, nor the cluster client's bookkeeping.
func TestClusterCommandsAgree(t *testing.T) {
	cl := testutil.Cluster(t, redisproc.ClusterOptions{Masters: 3, Replicas: 1})
	seeds := strings.Join(cl.Seeds(), ",")
	for _, replicas := range []bool{false, true} {
		t.Run(fmt.Sprintf("readFromReplicas=%v", replicas), func(t *testing.T) {
			ctx := context.Background()
			cfg, err := cache.LoadConfig("default")
			if err != nil {
				t.Fatal(err)
			}
			cfg.Redis.ReadFromReplicas = replicas
			client, err := cache.NewClient(seeds, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			c := cache.New(client, cache.Options{Config: cfg, OpTimeout: time.Second, InvalidateTimeout: time.Second})
			requests := uint64(0)
			server := func(context.Context) (metrics.Snapshot, error) {
				rs := c.RedisStats()
				return metrics.Snapshot{Stats: atlas.Stats{Requests: requests, Redis: &rs}}, nil
			}
			s := Open(ctx, Sources{Redis: []string{seeds}, Server: server})
			defer s.Close()
			if replicas {
				replicasKnown(t, client)
			}
			s.Begin(ctx)
			for round := range 3 {
				for i := 1; i <= 30; i++ {
					user := atlas.SeedUserID(i)
					load := func(context.Context) ([]byte, error) { return []byte("free"), nil }
					if _, _, err := c.User(ctx, user).Load(ctx, cache.ClassTier, "", "", load); err != nil {
						t.Fatal(err)
					}
					requests++
					if (i+round)%4 == 0 {
						if err := c.Invalidate(ctx, user, atlas.ScopeAll); err != nil {
							t.Fatal(err)
						}
						requests++
					}
				}
			}
			s.Finish(ctx)
			var rec summary.Figures
			rec.Mode = summary.ModeCache
			f := Judge(s.Cuts(), rec)
			var found bool
			for _, cc := range f.CrossChecks {
				t.Logf("%s: %v vs %v: %s (%s)", cc.Figure, cc.Value1, cc.Value2, cc.Verdict, cc.Detail)
				if cc.Figure == "Redis commands per request" {
					found = true
					if cc.Verdict != summary.Agree || cc.Value1 != cc.Value2 || cc.Value1 == 0 {
						t.Errorf("commands per request: server %v, Redis %v: %s (%s)", cc.Value1, cc.Value2, cc.Verdict, cc.Detail)
					}
				}
			}
			if !found {
				t.Fatalf("no Redis commands cross-check; notes %q", s.Notes())
			}
			if replicas {
				// The replicas served some of the reads, and they were counted.
				var read uint64
				for addr, n := range s.finish.Redis.nodes {
					t.Logf("DEBUG %s replica=%v mget %d -> %d", addr, n.replica, s.begin.Redis.nodes[addr].read["mget"], n.read["mget"])
					if n.replica {
						read += n.read["mget"] - s.begin.Redis.nodes[addr].read["mget"]
					}
				}
				if read == 0 {
					t.Error("with reads from replicas, no replica counted an MGET: the replicas' reads were not exercised")
				}
			}
			if st := f.RedisStats["attack"]; st.Nodes != 6 {
				t.Errorf("the witness read %d nodes, want all 6", st.Nodes)
			}
		})
	}
}

// replicasKnown fails unless the cluster client's view of the topology lists a replica for
// every master: the fixture is ready only once every node's CLUSTER SLOTS lists its replicas
// (redisproc.Cluster.WaitHealthy); before that go-redis routes every read to the masters and
// no replica read would be there to count.
func replicasKnown(t *testing.T, client redis.UniversalClient) {
	t.Helper()
	cc, ok := client.(*redis.ClusterClient)
	if !ok {
		t.Fatalf("client is a %T, want a cluster client", client)
	}
	ctx := context.Background()
	cc.ReloadState(ctx)
	var n atomic.Int32
	if err := cc.ForEachSlave(ctx, func(context.Context, *redis.Client) error { n.Add(1); return nil }); err != nil || n.Load() != 3 {
		t.Fatalf("the cluster client knows %d replicas (%v) of a ready 3 × 1 cluster, want 3", n.Load(), err)
	}
}
