// Package scenarios owns atlasbench's load scenarios: the YAML format, the built-in
// scenarios embedded into the binary (free, core, studio, mixed, smoke, …), strict
// validation that names the file, line and field of every problem at once, rate shapes
// as exact send schedules (and a vegeta.Pacer over them), and the key distributions
// that pick which seeded user sends each request.
//
// A scenario file looks like this (every field but duration, rate and mix is optional):
//
//	name: mixed                # default: the file name without .yaml
//	description: One sentence for `bench scenarios`.
//	seed: 42                   # default 1
//	warmup: 5s                 # run but excluded from every figure; default 0
//	duration: 45s              # the measured window, after warm-up
//	rate: {shape: constant, rps: 200}
//	population: {users: 2000, tiers: {free: 0.7, core: 0.2, studio: 0.1}, conversations: 5, messages: 40}
//	keys: {distribution: zipf, s: 1.1}
//	mix:
//	  - {req: "GET /api/me/tier", weight: 10}
//	  - {req: "GET /api/conversations/{id}/messages?limit=20", weight: 50}
//	  - {req: "POST /api/conversations/{id}/messages", weight: 5, expect: [201, 429]}
//	db: {latency: 5ms, jitter: 1ms}
//	faults:
//	  - {at: 20s, do: kill-redis}
//	  - {at: 30s, do: start-redis}
//	thresholds: ["errors == 0", "hit_rate.tier >= 0.80"]
//
// Durations use Go's syntax (250ms, 10s, 1m30s). Rate shapes:
//
//	{shape: constant, rps: R}                      (also the short form `rate: R`)
//	{shape: linear, from: A, to: B}                A rps at the start of the warm-up to B rps at the end of the run
//	{shape: sine, mean: M, amp: A, period: P}      M + A·sin(2πt/P), 0 <= A <= M
//	{shape: steps, steps: [{rps: R, for: D}, …]}   the last step holds until the end (its `for` may be left out)
//	{shape: max, workers: N}                       no schedule: a closed loop of N requests in flight, each sent
//	                                               as soon as the one before answered (latency = service time)
//
// The rate covers the whole attack, warm-up included: the driver builds the schedule with
// Scenario.Schedule (total = Warmup + Duration) and leaves the warm-up out of the figures.
// Fault offsets (`at`) count from the end of the warm-up.
//
// A mix entry may name an attack kind instead of a route; each kind stands for many varied
// hostile requests, generated from the seed, that know which answers they accept:
//
//	mix:
//	  - {attack: bad-token, weight: 10}    # alg none, HS384, RS256, wrong secret, expired, … → 401
//	  - {attack: foreign-conversation, weight: 10}
//
// Kinds: foreign-conversation, path-variant, hostile-id, bad-token, spoofed-header,
// oversized-body, malformed-body, bad-tier (AttackKinds; the constants say what each sends
// and expects). An attack entry takes no expect.
//
// Key distributions choose the user (u1 … uN) of each request: uniform; zipf {s} with
// rank 1 = u1 the hottest, for any s > 0 (an exact inverse-CDF sampler, not math/rand's
// Zipf, which needs s > 1); hotspot {fraction, share}: share of the picks go uniformly
// to the first fraction of the users and the rest uniformly to the others.
//
// Parse and Load report every problem at once (errors.Join of *Error), one per line,
// each as FILE:LINE: FIELD: PROBLEM, for example
//
//	scenarios/bad.yaml:7: mix[2].weight: must be > 0
//
// Built-ins are named "builtin:NAME" in Scenario.Source and shown as scenarios/NAME.yaml
// in messages.
package scenarios
