package scenarios

import (
	"slices"
	"strings"
	"testing"
)

func TestOwnRoutes(t *testing.T) {
	base := "duration: 10s\nrate: {rps: 10}\nmix:\n"
	s, err := Parse("own.yaml", []byte(base+`  - {req: "GET /v1/items/{item}?view={user}", weight: 3}
  - {req: "POST /v1/items/{item}", weight: 1, changes: ["GET /v1/items/{item}"], body: '{"v": "{marker}"}'}
  - {req: "GET /api/me", weight: 1}
`))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Mix[0].Own || !s.Mix[1].Own || s.Mix[2].Own || !slices.Equal(s.Mix[1].Changes, []string{"GET /v1/items/{item}"}) || s.Mix[1].Body != `{"v": "{marker}"}` {
		t.Errorf("mix %+v", s.Mix)
	}
	if got := Placeholders(`/v1/{a}/x/{b_2}?q={a} {"json": {"x": 1}} {marker}`); !slices.Equal(got, []string{"a", "b_2", "marker"}) {
		t.Errorf("placeholders %v", got)
	}
	for yaml, want := range map[string]string{
		`  - {req: "GET /api/nope", weight: 1}`:                              `mix[0].req: unknown route "GET /api/nope"`,
		`  - {req: "GET /v1/x", weight: 1, changes: ["GET /v1/x"]}`:          "mix[0].changes: only a write",
		`  - {req: "POST /v1/x", weight: 1, changes: ["POST /v1/x"]}`:        `mix[0].changes[0]: "POST /v1/x" is not "GET /path"`,
		`  - {req: "POST /v1/x", weight: 1, changes: ["GET /api/me"]}`:       "only reads of your own routes",
		`  - {req: "POST /v1/x/{a}", weight: 1, changes: ["GET /v1/y/{b}"]}`: "{b} is not a placeholder of the write",
		`  - {req: "TRACE /v1/x", weight: 1}`:                                "an own route is one of GET, POST, PUT, PATCH, DELETE",
	} {
		_, err := Parse("bad.yaml", []byte(base+yaml+"\n"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", yaml, err, want)
		}
	}
}
