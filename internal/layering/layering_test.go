package layering

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/atlasbench/atlasbench/"

// deps is `go list -deps` of one package: every package it links, itself included.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", module+pkg).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
	}
	return strings.Fields(string(out))
}

// serverDeps are the server's dependencies; the harness above the ground floor must not link them.
var serverDeps = []string{
	"github.com/redis/go-redis/",
	"github.com/jackc/pgx/",
	"modernc.org/sqlite",
	"github.com/prometheus/",
}

func TestHarnessDoesNotLinkTheServersDependencies(t *testing.T) {
	for _, pkg := range []string{"internal/atlas", "internal/summary", "scenarios", "internal/driver",
		"internal/check", "internal/metrics", "internal/report", "internal/compare", "internal/gate",
		"internal/threshold", "internal/render", "internal/stats", "internal/strictyaml", "internal/claims", "internal/loadhealth"} {
		for _, d := range deps(t, pkg) {
			for _, bad := range serverDeps {
				if strings.HasPrefix(d, bad) {
					t.Errorf("%s links %s", pkg, d)
					break
				}
			}
		}
	}
}

// TestLayers checks who may import whom inside the module: each package's module
// dependencies (transitively) must all be in its allowed set.
func TestLayers(t *testing.T) {
	ground := []string{"internal/atlas", "internal/atomicfile", "internal/summary", "internal/stats", "internal/render"}
	renderers := append(slices.Clone(ground), "internal/threshold", "internal/gate")
	for pkg, allowed := range map[string][]string{
		"internal/atlas":      {},
		"internal/atomicfile": {},
		"internal/stats":      {},
		"internal/strictyaml": {},
		"internal/summary":    {"internal/atlas", "internal/atomicfile"},
		"internal/loadhealth": {"internal/procstat", "internal/summary", "internal/render", "internal/atlas", "internal/atomicfile"},
		"internal/render":     {"internal/atomicfile"},
		"scenarios":           {"internal/atlas", "internal/strictyaml"},
		"refserver/store":     {"internal/atlas"},
		"internal/cache":      {"internal/atlas", "internal/strictyaml"},
		"internal/threshold":  ground,
		"internal/gate":       append(slices.Clone(ground), "internal/threshold"),
		"internal/report":     renderers,
		"internal/compare":    renderers,
		"internal/claims":     append(slices.Clone(ground), "internal/threshold", "scenarios", "internal/strictyaml"),
	} {
		for _, d := range deps(t, pkg) {
			own, ok := strings.CutPrefix(d, module)
			if !ok || own == pkg {
				continue
			}
			if !slices.Contains(allowed, own) {
				t.Errorf("%s imports %s (allowed: %v)", pkg, own, allowed)
			}
		}
	}
}
