package scenarios

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestParseAttacks covers mix entries that name an attack kind instead of a route.
func TestParseAttacks(t *testing.T) {
	known := strings.Join(AttackKinds(), ", ")
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{
			// Every kind, beside a route: no problem.
			name: "good",
			yaml: `duration: 10s
rate: 10
population: {users: 2, conversations: 1}
mix:
  - {attack: foreign-conversation, weight: 1}
  - {attack: path-variant, weight: 1}
  - {attack: hostile-id, weight: 1}
  - {attack: bad-token, weight: 1}
  - {attack: spoofed-header, weight: 1}
  - {attack: oversized-body, weight: 1}
  - {attack: malformed-body, weight: 1}
  - {attack: bad-tier, weight: 2}
  - {req: "GET /api/me", weight: 1}
`,
		},
		{
			// A kind nobody knows: the message lists the known ones.
			name: "unknown kind",
			yaml: `duration: 10s
rate: 10
mix:
  - {req: "GET /api/me", weight: 1}
  - {attack: sql-injection, weight: 1}
`,
			want: `x.yaml:5: mix[1].attack: "sql-injection" is not one of ` + known,
		},
		{
			// Both req and attack in one entry.
			name: "both",
			yaml: `duration: 10s
rate: 10
mix:
  - req: "GET /api/me"
    attack: bad-token
    weight: 1
`,
			want: `x.yaml:5: mix[0].attack: give either req or attack, not both`,
		},
		{
			// Neither: the req message says attack is the other way.
			name: "neither",
			yaml: `duration: 10s
rate: 10
mix:
  - {weight: 1}
`,
			want: `x.yaml:4: mix[0].req: required (e.g. "GET /api/me/tier"), or attack: KIND instead`,
		},
		{
			// An attack is not a text; an attack with expect; weight still checked.
			name: "attack fields",
			yaml: `duration: 10s
rate: 10
mix:
  - {attack: [bad-token], weight: 1}
  - {attack: bad-tier, weight: 0, expect: [200]}
  - {attack: "", weight: 1}
`,
			want: `x.yaml:4: mix[0].attack: want a text, got a list
x.yaml:5: mix[1].weight: must be > 0
x.yaml:5: mix[1].expect: not allowed with attack (each attack kind expects its own statuses)
x.yaml:6: mix[2].attack: is empty (want one of ` + known + `)`,
		},
		{
			// Attacks on other users need two users, and conversations to aim at.
			name: "population too small",
			yaml: `duration: 10s
rate: 10
population: {users: 1, conversations: 0}
mix:
  - {attack: foreign-conversation, weight: 1}
`,
			want: `x.yaml:3: population.users: must be at least 2, got 1 (attack foreign-conversation targets other users)
x.yaml:3: population.conversations: must be between 1 and 1000, got 0 (attack foreign-conversation uses the users' conversations)`,
		},
		{
			// bad-tier needs neither.
			name: "bad-tier alone",
			yaml: `duration: 10s
rate: 10
population: {users: 1, conversations: 0}
mix:
  - {attack: bad-tier, weight: 1}
`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("x.yaml", []byte(tc.yaml))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if err := s.Validate(); err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse succeeded, want\n%s", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("Parse error:\n%s\nwant:\n%s", err, tc.want)
			}
		})
	}
}

// TestParseAttackEntry checks what an attack entry decodes to.
func TestParseAttackEntry(t *testing.T) {
	s, err := Parse("x.yaml", []byte("duration: 1s\nrate: 1\nmix: [{attack: bad-token, weight: 3}, {req: GET /api/me, weight: 1}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []MixEntry{
		{Attack: AttackBadToken, Weight: 3},
		{Req: "GET /api/me", Method: "GET", Path: "/api/me", Weight: 1, Expect: []int{200}},
	}
	if !reflect.DeepEqual(s.Mix, want) {
		t.Errorf("mix = %+v, want %+v", s.Mix, want)
	}
	// Built in code: both set is reported by Validate too.
	s.Mix[0].Method, s.Mix[0].Path = "GET", "/api/me"
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "mix[0].attack: give either req or attack, not both") {
		t.Errorf("Validate = %v", err)
	}
}

// TestHostileBuiltin holds the hostile scenario to its brief.
func TestHostileBuiltin(t *testing.T) {
	s := mustLoad(t, "hostile")
	var kinds []string
	var attacks, normal float64
	for _, m := range s.Mix {
		if m.Attack != "" {
			kinds = append(kinds, m.Attack)
			attacks += m.Weight
		} else {
			if m.Method != "GET" {
				t.Errorf("normal entry %q: only reads beside the attacks", m.Req)
			}
			normal += m.Weight
		}
	}
	slices.Sort(kinds)
	all := AttackKinds()
	slices.Sort(all)
	if !slices.Equal(kinds, all) {
		t.Errorf("attack kinds %v, want every one of %v", kinds, all)
	}
	if share := normal / (normal + attacks); share <= 0 || share > 0.2 {
		t.Errorf("normal reads are %.0f%% of the mix, want a small share", share*100)
	}
	for _, th := range []string{"errors == 0", "isolation_violations == 0", "stale_reads == 0"} {
		if !slices.Contains(s.Thresholds, th) {
			t.Errorf("threshold %q missing", th)
		}
	}
}
