package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/internal/stack"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/scenarios"
)

// preflight checks, before anything is measured or written, what the run relies on but does
// not start itself: an external Redis (every node), a PostgreSQL server, or a -target with
// the Redis and database behind it, whose population must be the scenario's. A failure is an
// EnvError naming the component, its address and what to do.
func (o *engine) preflight(ctx context.Context, modes []summary.Mode) error {
	var checked []string
	if o.Target != "" {
		if err := preflightTarget(ctx, o.Target, o.Secret, o.Scenario, o.Shard.Owns, o.Users == nil && seededRoutes(o.Scenario)); err != nil {
			return &EnvError{err}
		}
		checked = append(checked, "target "+o.Target)
		if o.TargetRedis != "" {
			if err := stack.PreflightRedis(ctx, "-target-redis", o.TargetRedis, "check that -target-redis names the Redis behind -target, or drop it"); err != nil {
				return &EnvError{err}
			}
			checked = append(checked, "its Redis")
		}
		if o.TargetDB != "" {
			if err := stack.PreflightPostgres(ctx, "-target-db", o.TargetDB, false); err != nil {
				return &EnvError{err}
			}
			checked = append(checked, "its PostgreSQL")
		}
	} else {
		if slices.Contains(modes, summary.ModeCache) && stack.External(o.Redis) {
			if err := stack.PreflightRedis(ctx, "-redis", o.Redis, "start Redis there, or drop -redis to let bench start its own"); err != nil {
				return &EnvError{err}
			}
			checked = append(checked, "Redis")
		}
		if dbKind(o.DB) == "postgres" {
			if err := stack.PreflightPostgres(ctx, "-db", o.DB, true); err != nil {
				return &EnvError{err}
			}
			checked = append(checked, "PostgreSQL")
		}
	}
	if len(checked) > 0 {
		fmt.Fprintf(o.Progress, "preflight: %s answered\n", strings.Join(checked, ", "))
	}
	return nil
}

// targetSample is how many of the scenario's users the preflight asks a -target about.
const targetSample = 5

// sampleUsers picks up to targetSample users (1-based indexes) spread over 1…users, the
// first and the last included, each one that owns says the run sends requests for.
func sampleUsers(users int, owns func(int) bool) []int {
	var out []int
	for k := range targetSample {
		i := 1 + (users-1)*k/(targetSample-1)
		for i <= users && !owns(i) {
			i++ // the next user of this shard
		}
		if i <= users && !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	return out
}

// seededRoutes reports whether the scenario's mix sends an Atlas route, whose requests name
// the seeded users u1…uN and their conversations; a mix of the target's own routes only does not.
func seededRoutes(sc *scenarios.Scenario) bool {
	for _, m := range sc.Mix {
		if !m.Own && m.Weight > 0 {
			return true
		}
	}
	return false
}

// preflightTarget checks that the server at base answers /healthz and, when the run's
// requests name the seeded population (seeded), knows a sample of the scenario's users: each
// authenticates with a token the harness signs with secret, and lists its seeded
// conversations. A users file's population is checked by learning it (users.go) instead.
func preflightTarget(ctx context.Context, base string, secret []byte, sc *scenarios.Scenario, owns func(int) bool, seeded bool) error {
	ctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	if err := reachable(ctx, base); err != nil {
		return &stack.PreflightError{Component: "the target", Flag: "-target", Addr: base, Problem: "does not answer /healthz: " + err.Error(),
			Fix: "start it (bench serve " + serveScenarioFlag(sc) + ") or correct -target"}
	}
	if !seeded {
		return nil
	}
	seededWith := "was it seeded with `bench serve " + serveScenarioFlag(sc) + "`?"
	client := &http.Client{Timeout: 2 * time.Second}
	for _, i := range sampleUsers(sc.Population.Users, owns) {
		user := atlas.SeedUserID(i)
		token, err := atlas.NewToken(secret, user, time.Now(), time.Minute)
		if err != nil {
			return fmt.Errorf("runner: preflight: token for %s: %w", user, err)
		}
		var list struct {
			Conversations []struct {
				ID string `json:"id"`
			} `json:"conversations"`
		}
		status, problem, err := getJSON(ctx, client, base+"/api/conversations", token, &list)
		fail := func(problem, fix string) error {
			return &stack.PreflightError{Component: "the target", Flag: "-target", Addr: base, Problem: problem, Fix: fix}
		}
		switch {
		case err != nil:
			return fail(fmt.Sprintf("did not answer GET /api/conversations as %s: %v", user, err), "check that it runs and answers")
		case status == http.StatusUnauthorized && problem == "invalid token":
			return fail("refuses the harness's tokens (invalid token)", "set ATLAS_JWT_SECRET to the target's secret")
		case status == http.StatusUnauthorized:
			return fail(fmt.Sprintf("does not know %s (scenario %s has users u1…u%d)", user, sc.Name, sc.Population.Users), seededWith)
		case status != http.StatusOK:
			return fail(fmt.Sprintf("answered GET /api/conversations as %s with %d %s", user, status, problem), "check its log")
		}
		have := map[string]bool{}
		for _, c := range list.Conversations {
			have[c.ID] = true
		}
		for j := range sc.Population.Conversations {
			id := "c" + strconv.FormatInt(atlas.SeedConversationID(i, j, sc.Population.Conversations), 10)
			if !have[id] {
				return fail(fmt.Sprintf("has no conversation %s of %s (scenario %s seeds %d per user)", id, user, sc.Name, sc.Population.Conversations), seededWith)
			}
		}
	}
	return nil
}

// serveScenarioFlag is the -scenario flag of bench serve that seeds what sc expects.
func serveScenarioFlag(sc *scenarios.Scenario) string {
	if name, ok := strings.CutPrefix(sc.Source, "builtin:"); ok {
		return "-scenario " + name
	}
	return "-scenario " + sc.Source
}

// getJSON GETs url as the bearer of token and decodes a 200 answer into v; any other
// status is returned with the error message of the API's error body.
func getJSON(ctx context.Context, client *http.Client, url, token string, v any) (status int, problem string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return res.StatusCode, "", err
	}
	if res.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(body, &e)
		return res.StatusCode, e.Error, nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return res.StatusCode, "", errors.New("its answer is not the API's JSON: " + err.Error())
	}
	return res.StatusCode, "", nil
}
