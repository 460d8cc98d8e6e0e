// Package check owns the judgement of every response of a run: whether its status was
// expected (errors), whether its body belongs to the requester (isolation), whether it
// reflects every write acknowledged before it was sent (staleness), and whether it was
// served as the tier the user was last acknowledged to have (tier isolation).
//
// A Checker takes driver.Records in about the order of completion, puts them through a
// short reorder buffer so that they are judged in order of completion time, and hands a
// Verdict per record to the next stage (the metrics). Warm-up records are judged too, so
// that the state (acknowledged writes and tier changes) stays right, but only measured
// records count in the Report.
//
// The rules, with t_send = Result.Timestamp and t_ack = Result.End() of a 2xx write:
//
//   - status: GET 200, PUT /api/me/tier 200, POST /api/conversations 201, POST …/messages
//     201, or 429 only when that response's X-Atlas-Tier is "free" (the daily quota);
//     statuses a scenario lists in `expect` are also accepted. Transport failures, 5xx and
//     anything else are errors, by kind ("transport", "timeout", "5xx", "unexpected 404",
//     "429 for core", "invalid json").
//   - isolation: a 2xx JSON body's top-level "userId" and the "userId" of every item of
//     "conversations" and "messages" equal the requester; a missing one is a violation.
//   - attacks (driver.Request.Attack): the status must be one of the request's Expect and
//     never a 5xx, else the error kind is "attack <kind>: <status>"; every 2xx body, even an
//     unexpected one, must pass the isolation check. Attacks are left out of the staleness
//     state (they acknowledge nothing), and only their expected 2xx answers are held to
//     the tier rule.
//   - tier: once a PUT /api/me/tier is acknowledged, every request of that user sent after
//     the acknowledgement carries X-Atlas-Tier = the new tier, and GET /api/me and
//     GET /api/me/tier bodies say so, unless another PUT of that user was in flight while the
//     request was (its effect may or may not be visible: ambiguous, skipped), or an earlier
//     PUT failed with an unknown effect (5xx, transport). Such a violation may only be
//     decided once every PUT that could have overlapped the request has been seen, so tier
//     violations reach the Report, not the Verdict.
//   - staleness: an acknowledged POST …/messages appears in every GET of that
//     conversation's messages sent after the acknowledgement, unless the page is full and
//     the message is older than the oldest on it (newer messages pushed it off); an
//     acknowledged POST /api/conversations appears in every GET /api/conversations of its
//     user sent after the acknowledgement (unless it is older than the oldest listed).
//   - client caches (scenario clients with cache: true): a 304 to a conditional GET is
//     judged as the copy the device shows (driver.Record.Shown) by every rule above, and the
//     copy must have been served as the acknowledged tier; a copy that fails is a stale read
//     the client sees, counted per class in Report.ClientStale (clients.go).
package check
