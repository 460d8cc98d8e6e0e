package summary

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteRead(t *testing.T) {
	dir := t.TempDir()
	red := 0.42
	in := &Summary{Scenario: "smoke", Config: "default", Mode: "both", DBQueryReduction: &red,
		Figures: Figures{Requests: 10, HitRate: HitRate{Tier: 0.9}}, Samples: map[string][]float64{"latency.p99": {1, 2, 3}}}
	if err := Write(dir, in); err != nil {
		t.Fatal(err)
	}
	out, err := Read(dir) // a directory or the file itself
	if err != nil {
		t.Fatal(err)
	}
	if out.Schema != Schema || out.Requests != 10 || out.HitRate.Tier != 0.9 || *out.DBQueryReduction != 0.42 || len(out.Samples["latency.p99"]) != 3 {
		t.Fatalf("round trip lost data: %+v", out)
	}
	if _, err := Read(filepath.Join(dir, FileName)); err != nil {
		t.Fatal(err)
	}
}

func TestReadRejects(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, body, want string }{
		{"other schema", `{"schema":"atlasbench/summary/v0","scenario":"x"}`, "schema"},
		{"no scenario", `{"schema":"atlasbench/summary/v1"}`, "no scenario"},
		{"not json", `{`, "unexpected end"},
	} {
		p := filepath.Join(dir, tc.name+".json")
		os.WriteFile(p, []byte(tc.body), 0o644)
		if _, err := Read(p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	if _, err := Read(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// A corrupt summary (or baseline) names the line and column of the problem.
func TestReadCorruptNamesPosition(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"syntax", "{\n  \"schema\": \"atlasbench/summary/v1\",\n  \"scenario\": \"smoke\"\n  \"mode\": \"both\"\n}\n", "summary.json:4:3: invalid character"}, // a missing comma
		{"type", "{\n  \"schema\": \"atlasbench/summary/v1\",\n  \"requests\": \"many\"\n}\n", "summary.json:3:21: json: cannot unmarshal string"},             // a string for a number
		{"truncated", "{\n  \"schema\": \"atlasbench/", "summary.json:2:"},                                                                                     // cut short
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileName), []byte(tc.data), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Read(dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}
