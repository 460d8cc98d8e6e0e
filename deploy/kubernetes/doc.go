// Package kubernetes holds the Kubernetes manifests of a distributed atlasbench run (the
// system under test, the load as an Indexed Job of bench run -shard shards, the merge Job)
// and the test that decodes each of them strictly into the Kubernetes API types, so that a
// typo fails make test. It has no Go code of its own.
package kubernetes
