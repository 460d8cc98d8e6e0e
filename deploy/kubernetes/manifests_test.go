package kubernetes

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/atlasbench/atlasbench/scenarios"
)

// object is a decoded manifest document.
type object struct {
	file string
	kind string
	meta *metav1.ObjectMeta
	obj  any
}

// kinds maps apiVersion/kind to a new value of its API type.
var kinds = map[string]func() (any, *metav1.ObjectMeta){
	"v1/Namespace": func() (any, *metav1.ObjectMeta) { o := &corev1.Namespace{}; return o, &o.ObjectMeta },
	"v1/Secret":    func() (any, *metav1.ObjectMeta) { o := &corev1.Secret{}; return o, &o.ObjectMeta },
	"v1/ConfigMap": func() (any, *metav1.ObjectMeta) { o := &corev1.ConfigMap{}; return o, &o.ObjectMeta },
	"v1/Service":   func() (any, *metav1.ObjectMeta) { o := &corev1.Service{}; return o, &o.ObjectMeta },
	"v1/PersistentVolumeClaim": func() (any, *metav1.ObjectMeta) {
		o := &corev1.PersistentVolumeClaim{}
		return o, &o.ObjectMeta
	},
	"apps/v1/Deployment": func() (any, *metav1.ObjectMeta) { o := &appsv1.Deployment{}; return o, &o.ObjectMeta },
	"batch/v1/Job":       func() (any, *metav1.ObjectMeta) { o := &batchv1.Job{}; return o, &o.ObjectMeta },
}

// decode splits a manifest file into documents and decodes each strictly (unknown or
// duplicate fields are errors) into its API type.
func decode(file string, data []byte) ([]object, error) {
	var out []object
	for i, doc := range bytes.Split(data, []byte("\n---\n")) {
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", file, i+1, err)
		}
		kind := tm.APIVersion + "/" + tm.Kind
		mk, ok := kinds[kind]
		if !ok {
			return nil, fmt.Errorf("%s: document %d: unknown kind %q", file, i+1, kind)
		}
		obj, meta := mk()
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return nil, fmt.Errorf("%s: document %d (%s): %w", file, i+1, kind, err)
		}
		if meta.Name == "" {
			return nil, fmt.Errorf("%s: document %d (%s): no metadata.name", file, i+1, kind)
		}
		out = append(out, object{file: file, kind: tm.Kind, meta: meta, obj: obj})
	}
	return out, nil
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.Bytes()
}

func loadAll(t *testing.T) []object {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) < 4 {
		t.Fatalf("manifests: %v %v", files, err)
	}
	var all []object
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := decode(f, data)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, objs...)
	}
	return all
}

func find[T any](all []object, name string) *T {
	for _, o := range all {
		if v, ok := o.obj.(*T); ok && o.meta.Name == name {
			return v
		}
	}
	return nil
}

// TestManifestsDecodeStrictly decodes every manifest into the Kubernetes API types and
// checks that the pieces fit: names referenced exist, selectors select, the load is an
// Indexed Job of N shards, and the servers are seeded like the scenario the shards run.
func TestManifestsDecodeStrictly(t *testing.T) {
	all := loadAll(t)
	names := map[string]bool{}
	for _, o := range all {
		names[o.kind+"/"+o.meta.Name] = true
		if o.kind != "Namespace" && o.meta.Namespace != "atlasbench" {
			t.Errorf("%s: %s %s is in namespace %q, want atlasbench", o.file, o.kind, o.meta.Name, o.meta.Namespace)
		}
	}
	// Config maps' data, from the manifests and from the README, which creates the run's
	// config map with kubectl (its START_AT is the run's).
	data := map[string]map[string]string{}
	for _, o := range all {
		if cm, ok := o.obj.(*corev1.ConfigMap); ok {
			data[cm.Name] = cm.Data
		}
	}
	readme := readmeConfigMaps(t)
	for name, d := range readme {
		names["ConfigMap/"+name] = true
		data[name] = d
	}

	deployments := map[string]*appsv1.Deployment{}
	for _, o := range all {
		switch v := o.obj.(type) {
		case *appsv1.Deployment:
			deployments[v.Name] = v
			sel, err := metav1.LabelSelectorAsMap(v.Spec.Selector)
			if err != nil || !matches(sel, v.Spec.Template.Labels) {
				t.Errorf("deployment %s: selector %v does not select its pods %v", v.Name, sel, v.Spec.Template.Labels)
			}
			checkPod(t, names, data, "deployment "+v.Name, v.Spec.Template.Spec)
		case *batchv1.Job:
			checkPod(t, names, data, "job "+v.Name, v.Spec.Template.Spec)
		}
	}
	for _, o := range all {
		svc, ok := o.obj.(*corev1.Service)
		if !ok {
			continue
		}
		found := false
		for _, d := range deployments {
			found = found || matches(svc.Spec.Selector, d.Spec.Template.Labels)
		}
		if !found {
			t.Errorf("service %s selects no deployment's pods (%v)", svc.Name, svc.Spec.Selector)
		}
	}

	atlas := deployments["atlas"]
	if atlas == nil || atlas.Spec.Replicas == nil || *atlas.Spec.Replicas < 2 {
		t.Fatalf("atlas deployment: want N >= 2 replicas, got %+v", atlas)
	}
	if find[corev1.Service](all, "atlas") == nil || find[corev1.Service](all, "redis") == nil || find[corev1.Service](all, "postgres") == nil {
		t.Error("want services atlas, redis and postgres")
	}

	load := find[batchv1.Job](all, "atlasbench-load")
	if load == nil {
		t.Fatal("no atlasbench-load job")
	}
	if load.Spec.CompletionMode == nil || *load.Spec.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("load job: completionMode %v, want Indexed", load.Spec.CompletionMode)
	}
	c := load.Spec.Template.Spec.Containers[0]
	shards, _ := strconv.Atoi(envValue(c, "SHARDS"))
	if shards < 2 || load.Spec.Parallelism == nil || load.Spec.Completions == nil ||
		int(*load.Spec.Parallelism) != shards || int(*load.Spec.Completions) != shards {
		t.Errorf("load job: parallelism %v, completions %v, SHARDS %d: want all N >= 2", load.Spec.Parallelism, load.Spec.Completions, shards)
	}
	script := strings.Join(append(c.Command, c.Args...), " ")
	for _, want := range []string{"bench run", "JOB_COMPLETION_INDEX+1", "-shard \"$i/$SHARDS\"", "-start-at \"$START_AT\"", "-target http://atlas:8000", "/results/shard-"} {
		if !strings.Contains(script, want) {
			t.Errorf("load job's command %q lacks %q", script, want)
		}
	}
	merge := find[batchv1.Job](all, "atlasbench-merge")
	if merge == nil {
		t.Fatal("no atlasbench-merge job")
	}
	mc := merge.Spec.Template.Spec.Containers[0]
	if ms := strings.Join(mc.Args, " "); !strings.Contains(ms, "bench merge") || !strings.Contains(ms, "/results/shard-*/latest") || envValue(mc, "SHARDS") != strconv.Itoa(shards) {
		t.Errorf("merge job: %q with SHARDS %q: want bench merge of the %d shards", ms, envValue(mc, "SHARDS"), shards)
	}

	// The servers are seeded by the scenario the shards run (bench serve -scenario): the
	// SCENARIO the README's config map gives them.
	want := readme["atlasbench-run"]["SCENARIO"]
	if want == "" {
		t.Fatal("the README's atlasbench-run config map gives no SCENARIO")
	}
	args := atlas.Spec.Template.Spec.Containers[0].Args
	i := slices.Index(args, "-scenario")
	if i < 0 || i+1 >= len(args) || args[i+1] != want {
		t.Fatalf("atlas args %v: want -scenario %s (the SCENARIO the shards run)", args, want)
	}
	if _, err := scenarios.Load(args[i+1]); err != nil {
		t.Errorf("atlas -scenario %q: %v", args[i+1], err)
	}
}

// TestManifestTypoFails: the strict decoder refuses a misspelt field, so the test above can fail.
func TestManifestTypoFails(t *testing.T) {
	data, err := os.ReadFile("load.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(data, []byte("parallelism:"), []byte("paralelism:"), 1)
	if _, err := decode("load.yaml", bad); err == nil || !strings.Contains(err.Error(), "paralelism") {
		t.Errorf("a misspelt field decoded: %v", err)
	}
	bad = bytes.Replace(data, []byte("kind: Job"), []byte("kind: Jobb"), 1)
	if _, err := decode("load.yaml", bad); err == nil {
		t.Error("an unknown kind decoded")
	}
}

// checkPod checks that a pod's secrets, config maps and volume claims exist.
func checkPod(t *testing.T, names map[string]bool, data map[string]map[string]string, what string, pod corev1.PodSpec) {
	t.Helper()
	for _, v := range pod.Volumes {
		if c := v.PersistentVolumeClaim; c != nil && !names["PersistentVolumeClaim/"+c.ClaimName] {
			t.Errorf("%s: volume %s claims %s, which no manifest creates", what, v.Name, c.ClaimName)
		}
	}
	for _, c := range pod.Containers {
		if c.Image == "" {
			t.Errorf("%s: container %s has no image", what, c.Name)
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil && !names["Secret/"+r.Name] {
				t.Errorf("%s: env %s from secret %s, which no manifest creates", what, e.Name, r.Name)
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				switch {
				case !names["ConfigMap/"+r.Name]:
					t.Errorf("%s: env %s from config map %s, which nothing creates", what, e.Name, r.Name)
				case !hasKey(data[r.Name], r.Key) && (r.Optional == nil || !*r.Optional):
					t.Errorf("%s: env %s from key %s of config map %s, which has only %v", what, e.Name, r.Key, r.Name, slices.Sorted(maps.Keys(data[r.Name])))
				}
			}
		}
	}
}

// readmeConfigMaps returns the config maps README.md creates in namespace atlasbench with
// `kubectl -n atlasbench create configmap NAME --from-literal=KEY=VALUE …`, with their data.
func readmeConfigMaps(t *testing.T) map[string]map[string]string {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, line := range strings.Split(strings.ReplaceAll(string(text), "\\\n", " "), "\n") {
		f := strings.Fields(line)
		i := slices.Index(f, "configmap")
		if i < 1 || f[i-1] != "create" || i+1 >= len(f) || !strings.Contains(line, " -n atlasbench ") {
			continue
		}
		d := map[string]string{}
		for _, a := range f[i+2:] {
			if lit, ok := strings.CutPrefix(a, "--from-literal="); ok {
				k, v, _ := strings.Cut(lit, "=")
				d[k] = v
			}
		}
		out[f[i+1]] = d
	}
	return out
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

func matches(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}
