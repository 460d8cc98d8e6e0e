package scenarios

import "go.yaml.in/yaml/v3"

// maxDevices bounds Clients.Devices: each device keeps its own copies, per user.
const maxDevices = 16

// Clients are the users' devices (scenario field clients: {devices: D, cache: true}). Each
// user reads from D devices (a deterministic choice per request) and writes from the first;
// with Cache, each device keeps the answers of its cached GETs as a browser does, URL →
// (ETag, body), and sends a GET it made before conditional (If-None-Match), showing its kept
// copy on a 304. The zero value is one device without a cache: every GET downloads the body.
type Clients struct {
	// Devices is the number of devices per user, 1…16; 0 means 1.
	Devices int
	// Cache makes every device keep and revalidate its answers.
	Cache bool
}

// DeviceCount is the number of devices per user (at least 1).
func (c Clients) DeviceCount() int { return max(c.Devices, 1) }

// clients reads the clients section: {devices, cache}.
func (d *decoder) clients(n *yaml.Node, c *Clients) {
	f := d.Mapping(n, "clients", "devices", "cache")
	if f == nil {
		return
	}
	if v := f["devices"]; v != nil {
		c.Devices, _ = d.integer(v, "clients.devices")
	}
	if v := f["cache"]; v != nil && d.Scalar(v, "clients.cache", "true or false") {
		if v.ShortTag() != "!!bool" || v.Decode(&c.Cache) != nil {
			d.fail(v.Line, "clients.cache", true, "%q is not true or false", v.Value)
		}
	}
}

// checkClients checks the device count.
func (p *problems) checkClients(c Clients) {
	if c.Devices < 0 || c.Devices > maxDevices {
		p.add("clients.devices", "must be 1…%d (0: one device), got %d", maxDevices, c.Devices)
	}
}

// WithClientCaches returns a copy of s with the devices' caches on or off and at least two
// devices per user, so that both variants send the same requests from the same devices and
// only the conditional headers (and what the server answers to them) differ.
func (s *Scenario) WithClientCaches(on bool) *Scenario {
	v := *s
	v.Clients = Clients{Devices: max(s.Clients.Devices, 2), Cache: on}
	return &v
}
