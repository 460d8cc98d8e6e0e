package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/atlasbench/atlasbench/internal/doctor"
	"github.com/atlasbench/atlasbench/internal/redisproc"
	"github.com/atlasbench/atlasbench/internal/testutil"
)

// bench doctor's exit codes: 1 with findings (a redis-server as it starts: unbounded,
// noeviction, the default user open), 0 on a Redis set up right, 2 for bad usage, 3 when
// nothing answers; -json is the report.
func TestDoctorExitCodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bad := testutil.Redis(t)
	out, _, code := runBench(t, ctx, nil, "doctor", "-redis", bad.URL())
	if code != exitFail || !strings.Contains(out, "PROBLEM redis.maxmemory-policy") || !strings.Contains(out, "fix: ") {
		t.Errorf("default redis-server: exit %d, want 1 with the policy finding:\n%s", code, out)
	}
	out, _, code = runBench(t, ctx, nil, "doctor", "-json", "-redis", bad.URL())
	var rep doctor.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitFail || len(rep.Findings()) == 0 {
		t.Errorf("-json: exit %d, err %v, %d findings:\n%s", code, err, len(rep.Findings()), out)
	}

	good := testutil.Redis(t, "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru",
		"--user", "default", "off", "--user", "ops", "on", ">pw", "~*", "&*", "+@all")
	out, _, code = runBench(t, ctx, nil, "doctor", "-redis", "redis://ops:pw@"+good.Addr())
	if code != exitOK || !strings.Contains(out, "nothing wrong") || strings.Contains(out, "ops:pw") {
		t.Errorf("Redis set up right: exit %d, want 0, the verdict and no password:\n%s", code, out)
	}

	port, err := redisproc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, code = runBench(t, ctx, nil, "doctor", "-redis", fmt.Sprintf("redis://127.0.0.1:%d", port)); code != exitEnv {
		t.Errorf("nothing listening: exit %d, want 3", code)
	}
	for _, args := range [][]string{{"doctor"}, {"doctor", "-redis", "redis://127.0.0.1:x:y"}, {"doctor", "-target", "http://x", "-owner", "userId"}} {
		if _, _, code = runBench(t, ctx, nil, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// doctor -target as the first user of a users file, against the real reference server
// behind a secret the harness does not know.
func TestDoctorTargetWithUsersFile(t *testing.T) {
	t.Parallel()
	hs := httptest.NewServer(foreignServer(t, 3))
	defer hs.Close()
	users := usersFile(t, 3)
	out, stderr, code := runBench(t, context.Background(), nil, "doctor", "-target", hs.URL, "-users", users)
	if code != exitOK || !strings.Contains(out, "yes, from the owner at /userId") {
		t.Errorf("exit %d, want 0 with isolation measurable:\n%s\n%s", code, out, stderr)
	}
	// Without the file the harness's own secret signs u1's token: the service refuses it.
	out, _, code = runBench(t, context.Background(), nil, "doctor", "-target", hs.URL)
	if code != exitFail || !strings.Contains(out, "target.status") || !strings.Contains(out, "answered 401") {
		t.Errorf("a token the service refuses: exit %d, want 1 naming the 401:\n%s", code, out)
	}
}
