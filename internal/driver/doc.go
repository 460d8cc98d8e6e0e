// Package driver owns the load of `bench run`: the deterministic request plan a scenario
// seeds (Plan), and the vegeta attack that sends it on the scenario's schedule (Run).
//
// A scenario's attack entries (scenarios.AttackKinds) plan hostile requests instead of
// routes (hostile.go): each draws a concrete case (a foreign conversation, a path variant, a
// token that must not authenticate, a malformed body, …) from its own seeded stream, and
// carries the statuses it accepts in Request.Expect and its case in Request.Variant.
//
// With several server instances and Config.ReadyPeriod the attack is also their load
// balancer (balancer.go): it polls every instance's /readyz and sends no new request to one
// that is not ready, as a real balancer does during a deploy.
//
// Data flows one way: scenario → Plan + pacer → vegeta attack → Records. Run streams every
// result, matched to its planned Request and stamped with its intended send time, to
// Config.Sink (the checkers, then the metrics) and, without its body, to a vegeta gob
// results file that `vegeta report` reads. Nothing holds all results in memory.
//
// Latency is measured from the intended send time (attack start + Schedule.At(seq)), so a
// generator or server stall shows up in the figures instead of being hidden (coordinated
// omission); the service time (vegeta's own Latency, from the actual send) is kept too.
//
// vegeta assigns Result.Seq before it calls the targeter, from several workers at once, so
// the order of targeter calls is not Seq order. The targeter stamps each request with its
// plan index (X-Request-Id); a RoundTripper sees that header and vegeta's X-Vegeta-Seq on the
// same request and records seq → request before sending, which is how a Result finds its
// Request (and its intended send time) even when the transport fails.
package driver
