// Package atlas is the domain vocabulary of the Atlas reference API, shared by the server
// (refserver, refserver/store, internal/cache) and the harness (scenarios, driver, metrics):
// tiers and their seeded mix, cache classes and DB query classes, the seeded IDs and
// timestamps, the bearer tokens, and the JSON of GET /healthz. It sits at the bottom of the
// import graph: it imports no other package of the module and nothing that talks to Redis
// or a database, so the harness can speak Atlas without linking the server.
package atlas
