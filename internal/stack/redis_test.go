package stack

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/atlasbench/atlasbench/internal/redisproc"
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
			r, err := StartRedis(ctx, backend, quiet)
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
	r, err := StartRedis(context.Background(), "redis://127.0.0.1:6399", quiet)
	if err != nil || r.Backend != BackendExternal {
		t.Fatalf("external URL: %+v, %v", r, err)
	}
	if err := r.Kill(); err == nil {
		t.Fatal("killing an external Redis must be refused")
	}
	if _, err := StartRedis(context.Background(), "memcached", quiet); err == nil {
		t.Fatal("an unknown -redis spec must be an error")
	}
}
