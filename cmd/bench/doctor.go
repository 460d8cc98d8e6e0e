package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/check"
	"github.com/atlasbench/atlasbench/internal/doctor"
	"github.com/atlasbench/atlasbench/internal/driver"
)

const doctorUsage = `doctor [-redis URL] [-target URL [-user ID] [-token T] [-users FILE] [-owner PTR]] [-json]

Checks, reading only, whether a Redis is set up right for a cache and whether a live
service keeps the API contract a run relies on (docs/API.md), and says what a run can and
cannot measure there. Every finding says what it is, why it matters for a cache, and how
to fix it.

-redis (a redis://, rediss://, redis+cluster:// URL, or comma-separated host:port of a
Cluster's nodes; every node is read): PING round trip, version, maxmemory and its policy,
evictions and the keyspace hit ratio, persistence, cluster-require-full-coverage and
cluster_state, replication, the ACL's users (doctor's own user is not judged; give it an
operator's that may run INFO, CONFIG GET and ACL), TLS beyond loopback.

-target: GETs only, as one user (-user, with -token or a token signed with
ATLAS_JWT_SECRET; or the first user of a -users file): statuses, 401 without a token, X-Cache on every read and a HIT on
a repeated one, Cache-Control: private, the owner field (-owner), /healthz stats,
non-canonical paths 404.

Exit 0 nothing wrong, 1 findings, 2 bad usage, 3 Redis or target unreachable.

Examples:
  bench doctor -redis redis://127.0.0.1:6379
  bench doctor -redis redis+cluster://10.0.0.5:7000 -json
  bench doctor -target http://127.0.0.1:8000 -user u1`

func runDoctor(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("doctor", doctorUsage, stdout)
	redisURL := fs.String("redis", "", "a Redis to check: redis://, rediss://, redis+cluster:// URL or comma-separated host:port of a Cluster")
	target := fs.String("target", "", "a running service to check against the API contract, e.g. http://127.0.0.1:8000")
	user := fs.String("user", "u1", "with -target: the user ID to check as")
	token := fs.String("token", "", "with -target: the user's bearer token (default: one signed with ATLAS_JWT_SECRET)")
	usersFile := fs.String("users", "", "with -target: check as the first user of this users `FILE` (as bench run -users takes) instead of -user/-token")
	owner := fs.String("owner", check.DefaultOwner, "with -target: JSON pointer of the owner field in your answers")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("doctor: unexpected argument %q", fs.Arg(0))
	}
	if *redisURL == "" && *target == "" {
		return usagef("doctor: give -redis URL, -target URL or both")
	}
	if _, err := check.ParsePointer(*owner); err != nil {
		return usagef("doctor: -owner: %v", err)
	}
	var rep doctor.Report
	if *redisURL != "" {
		sec, err := doctor.CheckRedis(ctx, *redisURL, doctor.RedisOptions{})
		if err != nil {
			return doctorError(err)
		}
		rep.Sections = append(rep.Sections, sec)
	}
	if *target != "" {
		tok := *token
		if *usersFile != "" {
			users, err := driver.LoadUsers(*usersFile)
			if err != nil {
				return usagef("doctor: -users: %v", err)
			}
			*user, tok = users.ID(1), users.Token(1)
		}
		if tok == "" {
			secret, _ := jwtSecret(getenv)
			var err error
			if tok, err = atlas.NewToken(secret, *user, time.Now(), time.Hour); err != nil {
				return usagef("doctor: -user: %v", err)
			}
		}
		sec, err := doctor.CheckTarget(ctx, doctor.TargetOptions{URL: *target, UserID: *user, Token: tok, Owner: *owner})
		if err != nil {
			return doctorError(err)
		}
		rep.Sections = append(rep.Sections, sec)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := rep.WriteText(stdout); err != nil {
		return err
	}
	if !rep.OK() {
		return failError{fmt.Sprintf("doctor: %d finding(s)", len(rep.Findings()))}
	}
	return nil
}

// doctorError maps doctor's errors to the CLI's exit codes.
func doctorError(err error) error {
	switch {
	case errors.Is(err, doctor.ErrBadInput):
		return usageError{err}
	case errors.Is(err, doctor.ErrUnreachable):
		return envError{err}
	}
	return err
}
