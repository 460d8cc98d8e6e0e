// Package layering has no code: its test keeps the import graph one-way (docs/CONTRACTS.md,
// "Layering"). The harness's packages must not link the server's dependencies (go-redis,
// pgx, SQLite, Prometheus), and the renderers must read a run only through its summary.
package layering
