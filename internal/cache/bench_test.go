package cache

import (
	"context"
	"testing"

	"github.com/atlasbench/atlasbench/internal/testutil"
	"github.com/redis/go-redis/v9"
)

// BenchmarkCachedLoad is the hit path of one Load through a fresh view: User +
// Load (one MGET of the entry's generations and the entry). Compare with
// BenchmarkRedisGET, one bare GET of the same entry.
func BenchmarkCachedLoad(b *testing.B) {
	srv := testutil.Redis(b)
	c, _ := newTestCache(b, srv.URL(), Options{})
	ctx := context.Background()
	body := []byte(`{"userId":"u1","conversations":[{"id":"c1","userId":"u1","title":"hello"}]}`)
	loader := func(context.Context) ([]byte, error) { return body, nil }
	if _, o, err := c.User(ctx, "u1").Load(ctx, ClassConversations, "core", "", loader); err != nil || o != Miss {
		b.Fatal(o, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_, o, err := c.User(ctx, "u1").Load(ctx, ClassConversations, "core", "", loader)
		if err != nil || o != Hit {
			b.Fatal(o, err)
		}
	}
}

// BenchmarkCachedLoadSameView is a further Load of the same entry through one
// view: answered from the view's last MGET, no Redis call.
func BenchmarkCachedLoadSameView(b *testing.B) {
	srv := testutil.Redis(b)
	c, _ := newTestCache(b, srv.URL(), Options{})
	ctx := context.Background()
	body := []byte(`{"userId":"u1","conversations":[{"id":"c1","userId":"u1","title":"hello"}]}`)
	loader := func(context.Context) ([]byte, error) { return body, nil }
	v := c.User(ctx, "u1")
	if _, _, err := v.Load(ctx, ClassConversations, "core", "", loader); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_, o, err := v.Load(ctx, ClassConversations, "core", "", loader)
		if err != nil || o != Hit {
			b.Fatal(o, err)
		}
	}
}

// BenchmarkRedisGET is the floor: one go-redis GET of a cached entry.
func BenchmarkRedisGET(b *testing.B) {
	srv := testutil.Redis(b)
	c, _ := newTestCache(b, srv.URL(), Options{})
	ctx := context.Background()
	body := []byte(`{"userId":"u1","conversations":[{"id":"c1","userId":"u1","title":"hello"}]}`)
	if _, _, err := c.User(ctx, "u1").Load(ctx, ClassConversations, "core", "", func(context.Context) ([]byte, error) { return body, nil }); err != nil {
		b.Fatal(err)
	}
	key := entryKey(b, c, "u1", ClassConversations, "core", "")
	client := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer client.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.Get(ctx, key).Bytes(); err != nil {
			b.Fatal(err)
		}
	}
}
