// Package witness owns the second witnesses of a run: Redis's own counters (INFO stats
// and commandstats of every node), PostgreSQL's (pg_stat_database, and pg_stat_statements
// when the server has it loaded), and the server's request-duration histogram on
// /metrics. Collecting them (collect.go: a Session reads them at the boundaries of a
// mode's attack, with its retries and waits, into Cuts) is apart from judging them
// (judge.go, reduction.go: pure functions over Cuts and the recorder's figures): each
// headline figure beside the same figure from a witness that is not the harness's own
// measurement, agreeing within a stated tolerance or not.
package witness
