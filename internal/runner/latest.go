package runner

// LinkLatestCompare points Out/latest-compare at dir, a compare directory made outside
// Compare (bench compare -client-caches).
func LinkLatestCompare(out, dir string) { linkLatest(out, dir, LatestCompareLink) }
