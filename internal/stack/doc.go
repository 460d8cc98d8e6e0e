// Package stack owns what a run stands on: Redis (a child redis-server, a Docker container
// through dockertest, embedded miniredis as the last resort, or an external URL), the
// database, and the reference server as a child process of the same binary; it tears all
// of it down on exit, on error and on Ctrl-C.
package stack
