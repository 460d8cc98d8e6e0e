package summary

// ClientCache is what the users' devices' HTTP caches did over the measured window
// (scenario clients with cache: true): per cache class and in total.
type ClientCache struct {
	Devices int                         `json:"devices"` // per user
	ByClass map[string]ClientCacheClass `json:"by_class"`
	Total   ClientCacheClass            `json:"total"`
}

// ClientCacheClass are one class's client-cache figures.
type ClientCacheClass struct {
	Gets        int64 `json:"gets"`         // measured GETs of the class
	Conditional int64 `json:"conditional"`  // sent with If-None-Match (the device kept a copy)
	NotModified int64 `json:"not_modified"` // answered 304
	// Share304 is NotModified / Gets.
	Share304 float64 `json:"share_304"`
	// BytesSaved are the body bytes the 304s did not carry: the sizes of the copies shown.
	BytesSaved int64 `json:"bytes_saved"`
	// P50304MS and P50200MS are the median service time of a 304 and of a 200 of the class.
	P50304MS float64 `json:"p50_304_ms"`
	P50200MS float64 `json:"p50_200_ms"`
	// RedisCommandsPer304 is the mean of X-Atlas-Redis-Commands over the 304s Redis vouched
	// for (X-Atlas-Revalidated: entry or generations).
	RedisCommandsPer304 float64 `json:"redis_commands_per_304"`
	// DBLoadsSaved are the 304s Redis vouched for without holding the entry any more
	// (X-Atlas-Revalidated: generations): each saved the DB load a miss of the class makes,
	// on top of what Redis saves.
	DBLoadsSaved int64 `json:"db_loads_saved"`
	// FromBody are the 304s the server could only vouch for by reading the answer (Redis
	// down or bypassed, no-cache mode: X-Atlas-Revalidated: body).
	FromBody int64 `json:"revalidated_from_body"`
	// StaleReads are client-visible stale reads: 304s whose kept copy the checks refused.
	StaleReads int64 `json:"stale_reads"`
}
