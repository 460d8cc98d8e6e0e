package stack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
)

// The floor: what a cached GET cannot beat on the same machine and the same Redis. Every
// request but /healthz costs exactly one go-redis GET of a FloorValueSize-byte value, whose
// bytes are the answer; no auth, no routing, no JSON. `bench floor` measures the reference
// server's cached GET /api/me beside it (docs/PERFORMANCE.md).
const (
	FloorKey       = "atlas:floor:value"
	FloorValueSize = 512
)

// FloorValue is the value SeedFloor stores: FloorValueSize bytes of JSON-safe text.
func FloorValue() []byte {
	v := bytes.Repeat([]byte("x"), FloorValueSize)
	copy(v, `{"floor":"`)
	copy(v[FloorValueSize-2:], `"}`)
	return v
}

// SeedFloor stores FloorValue under FloorKey.
func SeedFloor(ctx context.Context, rdb redis.UniversalClient) error {
	return rdb.Set(ctx, FloorKey, FloorValue(), 0).Err()
}

// FloorHandler is the floor server: GET /healthz answers 200 without Redis; any other
// request answers the value of one GET of FloorKey (502 when that GET fails).
func FloorHandler(rdb redis.UniversalClient) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.Write([]byte("ok\n"))
			return
		}
		v, err := rdb.Get(r.Context(), FloorKey).Bytes()
		if err != nil {
			http.Error(w, "floor: redis: "+err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(v)
	})
}

// StartFloor runs the floor server (`bench serve -floor`) as a child process on a free
// loopback port, talking to the Redis at redisURL, and waits until it answers /healthz. o
// supplies Binary, ServerLog and StartTimeout. Stop it with Server.Stop.
func StartFloor(ctx context.Context, o Options, redisURL string) (*Server, error) {
	if o.ServerLog == nil {
		o.ServerLog = io.Discard
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = time.Minute
	}
	if o.Binary == "" {
		var err error
		if o.Binary, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("stack: own executable: %w", err)
		}
	}
	s := &Server{Index: 1, o: o, args: []string{"serve", "-floor", "-listen", "127.0.0.1:0", "-redis", redisURL, "-log-level", "warn"}}
	if _, err := s.start(ctx); err != nil {
		s.stop()
		return nil, fmt.Errorf("stack: floor server: %w", err)
	}
	return s, nil
}

// Stop ends a server started on its own (StartFloor); Up's servers stop with Stack.Close.
func (s *Server) Stop() error { return s.stop() }
