package stack

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/atlasbench/atlasbench/internal/cache"
)

// CheckDB checks a -db spec without connecting: sqlite, or a postgres:// (postgresql://)
// server URL that parses. Callers use it to refuse bad usage before anything starts.
func CheckDB(spec string) error {
	if spec == "" || spec == "sqlite" {
		return nil
	}
	if strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://") {
		if _, err := url.Parse(spec); err != nil {
			return fmt.Errorf("-db: not a URL: %w", err)
		}
		return nil
	}
	return fmt.Errorf("-db %q: want sqlite or a postgres:// server URL", cache.RedactURL(spec))
}

// CheckRedis checks a -redis spec without connecting: auto, process, docker, embedded,
// cluster, a redis://, rediss://, redis+cluster:// or rediss+cluster:// URL that parses, or
// comma-separated host:port seeds of a Cluster. It is the one owner of that grammar.
func CheckRedis(spec string) error {
	switch spec {
	case "", "auto", BackendProcess, BackendDocker, BackendEmbedded, BackendCluster:
		return nil
	}
	for _, scheme := range []string{"redis://", "rediss://", "redis+cluster://", "rediss+cluster://"} {
		if strings.HasPrefix(spec, scheme) {
			if _, err := url.Parse(spec); err != nil {
				return fmt.Errorf("-redis: not a URL: %w", err)
			}
			return nil
		}
	}
	if seeds := strings.Split(spec, ","); len(seeds) > 1 {
		for _, s := range seeds {
			if _, _, err := net.SplitHostPort(strings.TrimSpace(s)); err != nil {
				return fmt.Errorf("-redis %q: cluster seed %q is not host:port", cache.RedactURL(spec), s)
			}
		}
		return nil
	}
	return fmt.Errorf("-redis %q: want auto, process, docker, embedded, cluster, a redis://, rediss://, redis+cluster:// or rediss+cluster:// URL, or comma-separated host:port of a Cluster's nodes", cache.RedactURL(spec))
}
