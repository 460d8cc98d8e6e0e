package main

import (
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// No Docker engine runs in CI, so the compose file is checked by reading it: the three
// services, their healthchecks, and the server wired to both through REDIS_URL and ATLAS_DB.
func TestComposeFile(t *testing.T) {
	data, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Build       string            `yaml:"build"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			DependsOn   map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for _, name := range []string{"redis", "postgres", "atlas"} {
		svc, ok := compose.Services[name]
		if !ok {
			t.Fatalf("service %q missing", name)
		}
		if len(svc.Healthcheck.Test) == 0 {
			t.Errorf("service %q has no healthcheck", name)
		}
	}
	atlas := compose.Services["atlas"]
	if atlas.Build == "" {
		t.Error("atlas is not built from the Dockerfile")
	}
	if u := atlas.Environment["REDIS_URL"]; !strings.HasPrefix(u, "redis://redis:") {
		t.Errorf("atlas REDIS_URL = %q, want redis://redis:…", u)
	}
	if u := atlas.Environment["ATLAS_DB"]; !strings.HasPrefix(u, "postgres://") || !strings.Contains(u, "@postgres:") {
		t.Errorf("atlas ATLAS_DB = %q, want postgres://…@postgres:…", u)
	}
	for _, dep := range []string{"redis", "postgres"} {
		if atlas.DependsOn[dep].Condition != "service_healthy" {
			t.Errorf("atlas must wait for %s to be healthy", dep)
		}
	}
	if !slices.Contains(atlas.Command, "serve") {
		t.Errorf("atlas command %v does not run bench serve", atlas.Command)
	}
	if _, err := os.Stat("../../Dockerfile"); err != nil {
		t.Errorf("Dockerfile: %v", err)
	}
}
