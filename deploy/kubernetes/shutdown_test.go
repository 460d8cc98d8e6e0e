package kubernetes

import (
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
)

// checkShutdown checks that the atlas pods' deploy settings agree: readiness probes /readyz
// and liveness /healthz; the server's -shutdown-delay outlasts what the readiness probe takes
// to notice (periodSeconds × failureThreshold), so the Service stops sending before the
// listener closes; and terminationGracePeriodSeconds is longer than the delay plus
// -drain-timeout, so the kubelet never SIGKILLs a server that is still draining.
func checkShutdown(d *appsv1.Deployment) []error {
	var errs []error
	pod := d.Spec.Template.Spec
	if len(pod.Containers) == 0 {
		return []error{fmt.Errorf("deployment %s: no container", d.Name)}
	}
	c := pod.Containers[0]
	flag := func(name string, def time.Duration) time.Duration {
		i := slices.Index(c.Args, name)
		if i < 0 {
			return def
		}
		if i+1 >= len(c.Args) {
			errs = append(errs, fmt.Errorf("deployment %s: %s without a value", d.Name, name))
			return def
		}
		v, err := time.ParseDuration(c.Args[i+1])
		if err != nil {
			errs = append(errs, fmt.Errorf("deployment %s: %s %q: %w", d.Name, name, c.Args[i+1], err))
		}
		return v
	}
	delay := flag("-shutdown-delay", 0)
	drain := flag("-drain-timeout", 10*time.Second) // bench serve's default
	rp, lp := c.ReadinessProbe, c.LivenessProbe
	switch {
	case rp == nil || rp.HTTPGet == nil || rp.HTTPGet.Path != "/readyz":
		errs = append(errs, fmt.Errorf("deployment %s: the readiness probe must GET /readyz, got %+v", d.Name, rp))
	default:
		period, threshold := rp.PeriodSeconds, rp.FailureThreshold
		if period == 0 {
			period = 10 // Kubernetes' default
		}
		if threshold == 0 {
			threshold = 3 // Kubernetes' default
		}
		if notice := time.Duration(period*threshold) * time.Second; delay <= notice {
			errs = append(errs, fmt.Errorf("deployment %s: -shutdown-delay %s must be longer than the readiness probe takes to notice (periodSeconds %d × failureThreshold %d = %s)",
				d.Name, delay, period, threshold, notice))
		}
	}
	if lp == nil || lp.HTTPGet == nil || lp.HTTPGet.Path != "/healthz" {
		errs = append(errs, fmt.Errorf("deployment %s: the liveness probe must GET /healthz, got %+v", d.Name, lp))
	}
	grace := 30 * time.Second // Kubernetes' default
	if pod.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	}
	if grace <= delay+drain {
		errs = append(errs, fmt.Errorf("deployment %s: terminationGracePeriodSeconds %s must be longer than -shutdown-delay %s + -drain-timeout %s",
			d.Name, grace, delay, drain))
	}
	return errs
}

// TestShutdownSettingsAgree: the atlas deployment's probes, shutdown delay, drain timeout
// and grace period agree (checkShutdown), and each rule fails on a manifest that breaks it.
func TestShutdownSettingsAgree(t *testing.T) {
	d := find[appsv1.Deployment](loadAll(t), "atlas")
	if d == nil {
		t.Fatal("no atlas deployment")
	}
	for _, err := range checkShutdown(d) {
		t.Error(err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*appsv1.Deployment)
	}{
		// the grace period ends while the server may still drain
		{"short grace", func(d *appsv1.Deployment) { g := int64(15); d.Spec.Template.Spec.TerminationGracePeriodSeconds = &g }},
		// the listener closes before the probe has noticed
		{"short delay", func(d *appsv1.Deployment) { setArg(d, "-shutdown-delay", "1s") }},
		// readiness on the liveness endpoint never fails during a drain
		{"readiness on healthz", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet.Path = "/healthz"
		}},
		{"no liveness probe", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].LivenessProbe = nil }},
	} {
		bad := d.DeepCopy()
		tc.mutate(bad)
		if errs := checkShutdown(bad); len(errs) == 0 {
			t.Errorf("%s: checkShutdown found nothing wrong", tc.name)
		}
	}
}

// setArg sets the value after flag name in the deployment's first container's args.
func setArg(d *appsv1.Deployment, name, value string) {
	args := d.Spec.Template.Spec.Containers[0].Args
	if i := slices.Index(args, name); i >= 0 && i+1 < len(args) {
		args[i+1] = value
	}
}
