package driver

import (
	"container/list"
	"net/http"
	"sync"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/atlasbench/atlasbench/scenarios"
)

// DefaultDeviceCacheBytes bounds the bodies every device cache of a run keeps together; the
// least recently stored or revalidated copies go first.
const DefaultDeviceCacheBytes = 64 << 20

// Copy is one answer a device keeps for a URL, as a browser's HTTP cache does: the validator
// to revalidate it with and the body to show when the server answers 304. A Copy is never
// modified once made.
type Copy struct {
	ETag string
	Body []byte
	// Tier is the X-Atlas-Tier of the answer that made the copy: the tier it was served as.
	Tier string
	// Index is the plan index of the request whose answer made the copy.
	Index uint64
}

// devices are the users' devices of a run (scenario clients) and, with clients.cache, the
// copies each keeps: user × device × URL → Copy. Reads are spread over a user's devices by a
// deterministic function of the request's plan index; writes come from device 0. Safe for
// concurrent use (the targeter prepares requests while the consumer keeps answers).
type devices struct {
	n        int
	cache    bool
	seed     uint64
	maxBytes int64

	mu     sync.Mutex
	copies map[copyKey]*list.Element // of *kept
	lru    list.List                 // front: most recently stored or revalidated
	bytes  int64
}

// copyKey names one device's copy of one URL.
type copyKey struct {
	user   int
	device int
	path   string
}

// kept is an LRU element: a copy under its key.
type kept struct {
	key  copyKey
	copy *Copy
}

// newDevices returns the devices of sc's clients section.
func newDevices(sc *scenarios.Scenario, maxBytes int64) *devices {
	if maxBytes <= 0 {
		maxBytes = DefaultDeviceCacheBytes
	}
	return &devices{
		n: sc.Clients.DeviceCount(), cache: sc.Clients.Cache, seed: uint64(sc.Seed),
		maxBytes: maxBytes, copies: map[copyKey]*list.Element{},
	}
}

// conditional reports whether r is a request a device may keep the answer of: a GET of the
// scenario's mix (attacks are not a device's).
func conditional(r *Request) bool {
	return r.Method == http.MethodGet && r.Attack == "" && r.Class != ""
}

// prepare picks r's device and, when that device keeps a copy of r.Path, sets r.Kept: the
// request is then sent conditional on the copy's ETag.
func (d *devices) prepare(r *Request) {
	if r.Write || d.n <= 1 {
		r.Device = 0
	} else {
		r.Device = int(splitmix(d.seed^r.Index) % uint64(d.n))
	}
	if !d.cache || !conditional(r) {
		return
	}
	d.mu.Lock()
	if e, ok := d.copies[copyKey{r.UserIndex, r.Device, r.Path}]; ok {
		r.Kept = e.Value.(*kept).copy
	}
	d.mu.Unlock()
}

// keep stores what the answer res to r leaves on its device: a 200 with an ETag replaces
// the copy (unless a later-sent request's answer already did); a 304 refreshes the copy's
// place in the LRU; anything else changes nothing.
func (d *devices) keep(r *Request, res *vegeta.Result) {
	if !d.cache || r == nil || !conditional(r) {
		return
	}
	k := copyKey{r.UserIndex, r.Device, r.Path}
	d.mu.Lock()
	defer d.mu.Unlock()
	e, have := d.copies[k]
	switch {
	case res.Code == http.StatusNotModified && have:
		d.lru.MoveToFront(e)
	case res.Code == http.StatusOK:
		etag := res.Headers.Get("ETag")
		if etag == "" {
			return
		}
		c := &Copy{ETag: etag, Body: res.Body, Tier: res.Headers.Get("X-Atlas-Tier"), Index: r.Index}
		if have {
			old := e.Value.(*kept)
			if old.copy.Index > r.Index {
				return // the answer to a later request is newer
			}
			d.bytes += int64(len(c.Body)) - int64(len(old.copy.Body))
			old.copy = c
			d.lru.MoveToFront(e)
		} else {
			d.copies[k] = d.lru.PushFront(&kept{key: k, copy: c})
			d.bytes += int64(len(c.Body))
		}
		for d.bytes > d.maxBytes && d.lru.Len() > 0 {
			last := d.lru.Back()
			lk := d.lru.Remove(last).(*kept)
			delete(d.copies, lk.key)
			d.bytes -= int64(len(lk.copy.Body))
		}
	}
}

// size is how many copies and body bytes the devices keep.
func (d *devices) size() (copies int, bytes int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.copies), d.bytes
}

// splitmix is SplitMix64's finaliser: a well-mixed hash of x.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Revalidated reports whether the answer was a 304 to a conditional request: the device
// then shows its kept copy (Shown).
func (r Record) Revalidated() bool {
	return r.Req != nil && r.Req.Kept != nil && r.Res.Code == http.StatusNotModified
}

// Shown is the body the device shows for the answer: the kept copy's on a 304 to its
// conditional request, else the body received.
func (r Record) Shown() []byte {
	if r.Revalidated() {
		return r.Req.Kept.Body
	}
	return r.Res.Body
}
