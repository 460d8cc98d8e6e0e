package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// documentedCommands are the bench command lines a user is shown: every `bin/bench …` in
// README.md's code blocks and every example under "Examples:" in `bench COMMAND -h`. Each
// is a list of arguments after "bench", with the source for messages.
func documentedCommands(t *testing.T) (cmds [][]string, where []string) {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	// Commands in indented code blocks, at the start of a line or of $(…): up to a comment, a
	// shell operator or the end of the line.
	re := regexp.MustCompile(`(?:^\s+|\$\()bin/bench ([^#&)|\n]*)`)
	for i, line := range strings.Split(string(readme), "\n") {
		if !strings.HasPrefix(line, "    ") {
			continue
		}
		for _, m := range re.FindAllStringSubmatch(line, -1) {
			cmds = append(cmds, strings.Fields(m[1]))
			where = append(where, "README.md:"+strconv.Itoa(i+1))
		}
	}
	for _, c := range commands() {
		stdout, _, code := runBench(t, context.Background(), nil, c.name, "-h")
		if code != 0 {
			t.Fatalf("bench %s -h: exit %d", c.name, code)
		}
		_, examples, _ := strings.Cut(stdout, "Examples:\n")
		for _, line := range strings.Split(examples, "\n") {
			rest, ok := strings.CutPrefix(strings.TrimSpace(line), "bench ")
			if !ok {
				if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "curl") {
					continue
				}
				break
			}
			rest, _, _ = strings.Cut(rest, "#")
			cmds = append(cmds, strings.Fields(rest))
			where = append(where, "bench "+c.name+" -h")
		}
	}
	return cmds, where
}

// TestDocumentedCommands runs every command the README and the -h texts show, in a fresh
// directory that holds what they refer to (a run under reports/latest, the baseline, a
// scenario file). The fast ones (help, scenarios, token, version, report, gate) run for real
// and must exit 0. Those that start a stack or reach a service (run, compare, floor, claims, serve, doctor,
// gate -against) run with a context
// that is already cancelled: they must get past usage checking (flags, scenario, cache config,
// -db, -target) and stop, so never exit 2, and must leave no run directory behind.
func TestDocumentedCommands(t *testing.T) {
	cmds, where := documentedCommands(t)
	if len(cmds) < 15 {
		t.Fatalf("found only %d documented commands; the extraction is broken", len(cmds))
	}
	dir := t.TempDir()
	baseline, err := summary.Read(filepath.Join("..", "..", "reports", "baseline", "smoke.json"))
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "reports", "20260101T000000Z-smoke")
	for _, d := range []string{run, filepath.Join(dir, "reports", "baseline")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := summary.Write(run, baseline); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(run, summary.FileName))
	os.WriteFile(filepath.Join(dir, "reports", "baseline", "smoke.json"), data, 0o644)
	os.Symlink(filepath.Base(run), filepath.Join(dir, "reports", "latest"))
	smoke, _ := os.ReadFile(filepath.Join("..", "..", "scenarios", "smoke.yaml"))
	os.WriteFile(filepath.Join(dir, "my.yaml"), smoke, 0o644)
	os.WriteFile(filepath.Join(dir, "users.csv"), []byte("id,token\nacct-1,t1\n"), 0o644)
	t.Chdir(dir)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	// Shell variables the README's commands use, with values of the kind it sets them to.
	vars := map[string]string{"T": "2030-01-01T00:00:00Z"}
	for i, args := range cmds {
		if len(args) == 0 {
			continue
		}
		for j, a := range args {
			args[j] = os.Expand(a, func(k string) string {
				v, ok := vars[k]
				if !ok {
					t.Errorf("%s: bench %s: unknown shell variable $%s (add an example value to the test)", where[i], strings.Join(args, " "), k)
				}
				return v
			})
		}
		name := strings.Join(args, " ")
		t.Run(name, func(t *testing.T) {
			switch {
			case args[0] == "serve" && !slices.Contains(args, "-h"):
				t.Skip("bench serve runs until stopped; its flags are checked by bench serve -h and TestRunExitCodes")
			case args[0] == "merge" && !slices.Contains(args, "-h"):
				t.Skip("bench merge reads the outputs of sharded runs on several machines; its own tests run it")
			case (args[0] == "run" || args[0] == "compare" || args[0] == "floor" || args[0] == "doctor" || args[0] == "claims" ||
				args[0] == "gate" && slices.Contains(args, "-against")) && !slices.Contains(args, "-h"):
				before := listReports(t)
				_, stderr, code := runBench(t, cancelled, nil, args...)
				if code == exitUsage {
					t.Errorf("%s: bench %s: exit 2 (bad usage): %s", where[i], name, stderr)
				}
				if after := listReports(t); after != before {
					t.Errorf("%s: bench %s stopped before measuring but left %q (had %q)", where[i], name, after, before)
				}
			default:
				stdout, stderr, code := runBench(t, context.Background(), nil, args...)
				if code != 0 {
					t.Errorf("%s: bench %s: exit %d\n%s\n%s", where[i], name, code, stdout, stderr)
				}
			}
		})
	}
}

// listReports names the entries of ./reports, to see whether a command left one behind.
func listReports(t *testing.T) string {
	t.Helper()
	entries, _ := os.ReadDir("reports")
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

// repoRoot is the module's root, two levels above cmd/bench.
const repoRoot = "../.."

// TestReadmeLayoutListsEveryPackage: README's layout section names every directory that
// holds Go files, so a new package cannot go undocumented.
func TestReadmeLayoutListsEveryPackage(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, layout, ok := strings.Cut(string(readme), "## Layout\n")
	if !ok {
		t.Fatal("README.md has no ## Layout section")
	}
	layout, _, _ = strings.Cut(layout, "\n## ")
	listed := map[string]bool{}
	for _, line := range strings.Split(layout, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasSuffix(f[0], "/") && strings.HasPrefix(line, "    ") {
			listed[strings.TrimSuffix(f[0], "/")] = true
		}
	}
	pkgs := map[string]bool{}
	filepath.WalkDir(repoRoot, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && path != repoRoot) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") {
			rel, _ := filepath.Rel(repoRoot, filepath.Dir(path))
			pkgs[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if len(pkgs) < 15 {
		t.Fatalf("found only %d packages under %s", len(pkgs), repoRoot)
	}
	for p := range pkgs {
		if !listed[p] {
			t.Errorf("README.md's layout does not list %s/", p)
		}
	}
}

// docName is a document's name as a text mentions it: upper case, "CACHE.md" or the
// "CLI.md" of "docs/CLI.md" (the files a run writes, report.md and the like, are lower case).
var docName = regexp.MustCompile(`\b[A-Z][A-Z0-9_-]*\.md\b`)

// TestNoReferenceOutsideRepo: no file (a document, a Go comment or test, a scenario)
// points at documents the repository does not have: every upper-case document name a file
// mentions, outside a web address, is the name of a Markdown file in the repository.
func TestNoReferenceOutsideRepo(t *testing.T) {
	banned := []string{"../" + "shared"}
	have := map[string]bool{}
	filepath.WalkDir(repoRoot, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(d.Name(), ".md") {
			have[d.Name()] = true
		}
		return nil
	})
	if !have["README.md"] {
		t.Fatalf("no README.md under %s", repoRoot)
	}
	filepath.WalkDir(repoRoot, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == ".git" || name == "bin" || name == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if info, err := d.Info(); err != nil || info.Size() > 1<<20 || strings.HasSuffix(path, ".png") || strings.HasSuffix(path, ".bin") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		for _, b := range banned {
			if strings.Contains(string(data), b) {
				t.Errorf("%s refers to %s, which is not in the repository", path, b)
			}
		}
		for _, word := range strings.Fields(string(data)) {
			if strings.Contains(word, "://") {
				continue // a web address: another site's documents
			}
			for _, name := range docName.FindAllString(word, -1) {
				if !have[name] {
					t.Errorf("%s refers to %s, which is not in the repository", path, name)
				}
			}
		}
		return nil
	})
}
