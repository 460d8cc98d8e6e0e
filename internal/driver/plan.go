package driver

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/scenarios"
)

// DefaultMessageLimit is the page size of GET …/messages when the mix gives no limit
// (the reference server's default).
const DefaultMessageLimit = 50

// Request is one planned request. Its fields are what the checkers need to judge the
// answer: who asked, what the plan believes about the user, and what it expects back.
type Request struct {
	Index     uint64 // position in the plan, from 0; sent as X-Request-Id
	UserIndex int    // 1-based seeded user index
	UserID    string // "u<UserIndex>"
	Token     string // bearer token for UserID
	Method    string
	Path      string // concrete URL path and query: "/api/conversations/c12/messages?limit=20"
	Route     string // the scenario route pattern: "GET /api/conversations/{id}/messages"; "ATTACK <kind>" for attacks
	Class     string // the route's class (scenarios.Route.Class): a cache class for reads, "writes" for writes
	Body      []byte // nil for GET
	Write     bool
	// ConversationID is "c<ID>", one of the user's own seeded conversations, when the route has {id}
	// (empty for attacks, whose Path says what they target).
	ConversationID string
	// Tier is the tier the plan believes the user has when the request is planned: the seeded
	// tier, updated by the plan's own PUTs (the server may disagree while PUTs are in flight).
	Tier string
	// NewTier is the tier a PUT /api/me/tier asks for (always ≠ Tier); empty otherwise.
	NewTier string
	// Expect lists the statuses that are not errors (the mix entry's, else the route's).
	Expect []int
	// Limit is the page size of GET …/messages (from the query, else DefaultMessageLimit); 0 otherwise.
	Limit int
	// Attack is the attack kind (scenarios.AttackKinds) of a hostile request; empty for the
	// mix's routes. UserID is then the user the attack acts as (or whose name a bad token
	// carries), and Expect lists the only acceptable answers.
	Attack string
	// Variant names the case of the attack, for examples: "alg none", "suffix .css".
	Variant string
	// Header holds extra headers to send (spoofed identities, an Authorization that is not
	// a bearer token). A request with an empty Token sends no bearer token.
	Header http.Header
	// Device is the user's device (0-based, scenario clients.devices) that sends the request;
	// writes always come from device 0. Kept is that device's copy of Path when the request
	// is sent conditional on it (If-None-Match); nil otherwise (devices.go).
	Device int
	Kept   *Copy
	// Own marks a route of the target the harness has no model of (scenarios.MixEntry.Own);
	// for an own write, Marker is the unique text its body carries and Changes the concrete
	// paths of the reads it must change (routes.go).
	Own     bool
	Marker  string
	Changes []string
}

// maxShownPath is how much of a path String shows (hostile IDs run to 4 KiB).
const maxShownPath = 160

// String renders the request for examples: "GET /api/me as u12", and for an attack
// "attack bad-token (alg none): GET /api/me as u12".
func (r *Request) String() string {
	path := r.Path
	if len(path) > maxShownPath {
		path = fmt.Sprintf("%s…(%d bytes)", path[:maxShownPath-40], len(path))
	}
	s := r.Method + " " + path + " as " + r.UserID
	if r.Attack != "" {
		s = "attack " + r.Attack + " (" + r.Variant + "): " + s
	}
	return s
}

// PlanOptions are the plan's inputs beside the scenario.
type PlanOptions struct {
	// Secret signs the bearer tokens (ATLAS_JWT_SECRET of the server). Required.
	Secret []byte
	// Now is the tokens' issue time. Default time.Now().
	Now time.Time
	// TokenTTL is how long the tokens are valid. Default the scenario's whole attack
	// (warm-up + duration) plus one hour.
	TokenTTL time.Duration
	// Users, when set, is the population instead of the seeded u1…uN: the plan draws user
	// indexes 1…Users.Len() with the scenario's key distribution and takes each user's ID,
	// token, tier and conversation IDs from it (users.go). Attack entries need a seeded
	// server and are refused.
	Users *Users
}

// planRoute is one mix entry, resolved against the known routes; or an attack kind.
type planRoute struct {
	attack                              string
	method, path, query, pattern, class string
	write, hasID                        bool
	expect                              []int
	limit                               int
	own                                 *ownRoute // a route of the target's own (routes.go)
}

// Plan is the deterministic request sequence a scenario seeds: the same scenario always
// plans the same requests in the same order (tokens aside, which depend on PlanOptions.Now),
// which is how the cache and no-cache modes are compared on the same requests.
// A Plan is not safe for concurrent use.
type Plan struct {
	sc      *scenarios.Scenario
	opts    PlanOptions
	users   func() int
	routes  []planRoute
	cum     []float64 // cumulative mix weights
	route   *rand.Rand
	conv    *rand.Rand
	tier    *rand.Rand
	tiers   map[int]string // users whose tier the plan changed
	auths   []*auth        // by user index, made on first use (8 bytes a user until then)
	next    uint64
	n       int             // users: population.users, or Users.Len()
	hostile *rand.Rand      // draws the attacks' cases and targets
	rsaKey  *rsa.PrivateKey // signs bad-token's RS256 tokens; nil without bad-token
}

// Independent PCG streams, so that changing one aspect of a scenario (say the mix) does not
// reshuffle the others (the users).
const (
	streamUsers  = 0x61746c6173_0001
	streamRoute  = 0x61746c6173_0002
	streamConv   = 0x61746c6173_0003
	streamTier   = 0x61746c6173_0004
	streamAttack = 0x61746c6173_0005
)

// NewPlan prepares the plan of sc. It checks what the plan needs of the scenario; the
// scenario itself is assumed valid (scenarios.Load validates).
func NewPlan(sc *scenarios.Scenario, o PlanOptions) (*Plan, error) {
	if sc == nil {
		return nil, errors.New("driver: plan: nil scenario")
	}
	if len(o.Secret) == 0 {
		return nil, errors.New("driver: plan: empty JWT secret")
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = sc.Total() + time.Hour
	}
	n := sc.Population.Users
	if o.Users != nil {
		n = o.Users.Len()
	}
	if n < 1 {
		return nil, fmt.Errorf("driver: plan: scenario %q: population.users must be >= 1", sc.Name)
	}
	p := &Plan{
		sc:      sc,
		opts:    o,
		route:   rand.New(rand.NewPCG(uint64(sc.Seed), streamRoute)),
		conv:    rand.New(rand.NewPCG(uint64(sc.Seed), streamConv)),
		tier:    rand.New(rand.NewPCG(uint64(sc.Seed), streamTier)),
		hostile: rand.New(rand.NewPCG(uint64(sc.Seed), streamAttack)),
		tiers:   map[int]string{},
		auths:   make([]*auth, n+1),
		n:       n,
	}
	p.users = sc.Keys.Sampler(n, rand.New(rand.NewPCG(uint64(sc.Seed), streamUsers)))
	var total float64
	for i, m := range sc.Mix {
		if m.Attack != "" {
			if o.Users != nil {
				return nil, fmt.Errorf("driver: plan: scenario %q: mix[%d]: attack %s needs a seeded server, not a users file", sc.Name, i, m.Attack)
			}
			if err := p.addAttack(i, m); err != nil {
				return nil, err
			}
			if m.Weight > 0 {
				total += m.Weight
				p.routes = append(p.routes, planRoute{attack: m.Attack, pattern: "ATTACK " + m.Attack})
				p.cum = append(p.cum, total)
			}
			continue
		}
		if m.Own {
			if err := p.addOwn(i, m); err != nil {
				return nil, err
			}
			total = p.total()
			continue
		}
		rt, ok := scenarios.LookupRoute(m.Method, m.Path)
		if !ok {
			return nil, fmt.Errorf("driver: plan: scenario %q: mix[%d]: unknown route %s %s", sc.Name, i, m.Method, m.Path)
		}
		if m.Weight <= 0 || sc.ReadOnly && rt.Write {
			continue
		}
		pr := planRoute{
			method: m.Method, path: m.Path, query: m.Query, pattern: m.Method + " " + m.Path,
			class: rt.Class, write: rt.Write, hasID: strings.Contains(m.Path, "{id}"),
			expect: slices.Clone(m.Expect),
		}
		if len(pr.expect) == 0 {
			pr.expect = slices.Clone(rt.Expect)
		}
		if pr.hasID && sc.Population.Conversations < 1 && o.Users == nil {
			return nil, fmt.Errorf("driver: plan: scenario %q: mix[%d]: %s needs population.conversations >= 1", sc.Name, i, m.Req)
		}
		if m.Method == "GET" && strings.HasSuffix(m.Path, "/messages") {
			pr.limit = DefaultMessageLimit
			if q, err := url.ParseQuery(m.Query); err == nil && q.Get("limit") != "" {
				n, err := strconv.Atoi(q.Get("limit"))
				if err != nil || n < 1 {
					return nil, fmt.Errorf("driver: plan: scenario %q: mix[%d]: bad limit %q", sc.Name, i, q.Get("limit"))
				}
				pr.limit = n
			}
		}
		total += m.Weight
		p.routes = append(p.routes, pr)
		p.cum = append(p.cum, total)
	}
	if len(p.routes) == 0 {
		return nil, fmt.Errorf("driver: plan: scenario %q: empty mix", sc.Name)
	}
	return p, nil
}

// SeedTier is the tier user i (1-based) was seeded with.
func (p *Plan) SeedTier(i int) string {
	if p.opts.Users != nil {
		return p.opts.Users.Tier(i)
	}
	return string(atlas.SeedTier(p.sc.Seed, i, p.sc.Population.Tiers))
}

// currentTier is the tier the plan believes user i has now.
func (p *Plan) currentTier(i int) string {
	if t, ok := p.tiers[i]; ok {
		return t
	}
	return p.SeedTier(i)
}

// token returns user i's token, minting it on first use.
func (p *Plan) token(i int, userID string) (string, error) {
	if i < 0 || i >= len(p.auths) {
		return "", fmt.Errorf("driver: plan: user %d of %d", i, len(p.auths)-1)
	}
	if a := p.auths[i]; a != nil && a.token != "" {
		return a.token, nil
	}
	if u := p.opts.Users; u != nil {
		a := p.auth(i)
		a.token, a.header = u.Token(i), []string{u.Bearer(i)}
		return a.token, nil
	}
	t, err := atlas.NewToken(p.opts.Secret, userID, p.opts.Now, p.opts.TokenTTL)
	if err != nil {
		return "", fmt.Errorf("driver: plan: %w", err)
	}
	a := p.auth(i)
	a.token, a.header = t, []string{"Bearer " + t}
	return t, nil
}

// auth is what the plan makes once per user: the user's ID, signed token and the
// Authorization header value that carries it.
type auth struct {
	id     string
	token  string
	header []string // {"Bearer " + token}; shared by every request of the user, never modified
}

// auth is user i's entry, made on first use.
func (p *Plan) auth(i int) *auth {
	if p.auths[i] == nil {
		p.auths[i] = &auth{}
	}
	return p.auths[i]
}

// userID is user i's ID (1 <= i <= population.users), made on first use.
func (p *Plan) userID(i int) string {
	a := p.auth(i)
	if a.id == "" && p.opts.Users != nil {
		a.id = p.opts.Users.ID(i)
	} else if a.id == "" {
		a.id = atlas.SeedUserID(i)
	}
	return a.id
}

// bearer is the Authorization header value for token: user i's own, built once, or a new
// one for any other token (a hostile request's). Like Next, not safe for concurrent use.
func (p *Plan) bearer(i int, token string) []string {
	if i >= 0 && i < len(p.auths) && p.auths[i] != nil && p.auths[i].token == token && token != "" {
		return p.auths[i].header
	}
	return []string{"Bearer " + token}
}

// Next plans the next request. The sequence is endless.
func (p *Plan) Next() (*Request, error) {
	i := p.users()
	if i < 1 || i > p.n {
		return nil, fmt.Errorf("driver: plan: key sampler returned user %d of %d", i, p.n)
	}
	x := p.route.Float64() * p.cum[len(p.cum)-1]
	k, _ := slices.BinarySearch(p.cum, x)
	if x == p.cum[min(k, len(p.cum)-1)] {
		k++ // x lies on the boundary: it belongs to the next interval [cum[k], cum[k+1])
	}
	k = min(k, len(p.routes)-1)
	rt := p.routes[k]

	userID := p.userID(i)
	if rt.attack != "" {
		r := &Request{Index: p.next, UserIndex: i, UserID: userID, Route: rt.pattern, Tier: p.currentTier(i), Attack: rt.attack}
		if err := p.attackRequest(r); err != nil {
			return nil, err
		}
		p.next++
		return r, nil
	}
	if rt.own != nil {
		return p.ownRequest(i, userID, rt)
	}
	tok, err := p.token(i, userID)
	if err != nil {
		return nil, err
	}
	r := &Request{
		Index: p.next, UserIndex: i, UserID: userID, Token: tok,
		Method: rt.method, Route: rt.pattern, Class: rt.class, Write: rt.write,
		Tier: p.currentTier(i), Expect: rt.expect, Limit: rt.limit,
	}
	p.next++
	path := rt.path
	if rt.hasID && p.opts.Users != nil {
		path = p.usersConversation(r, rt, i)
	} else if rt.hasID {
		j := p.conv.IntN(p.sc.Population.Conversations)
		r.ConversationID = "c" + strconv.FormatInt(atlas.SeedConversationID(i, j, p.sc.Population.Conversations), 10)
		path = strings.ReplaceAll(path, "{id}", r.ConversationID)
	}
	if rt.query != "" && (!rt.hasID || r.ConversationID != "") {
		path += "?" + rt.query
	}
	r.Path = path
	switch {
	case rt.method == "PUT" && rt.path == "/api/me/tier":
		others := make([]string, 0, 2)
		for _, t := range atlas.Tiers() {
			if string(t) != r.Tier {
				others = append(others, string(t))
			}
		}
		r.NewTier = others[p.tier.IntN(len(others))]
		p.tiers[i] = r.NewTier
		r.Body = []byte(`{"tier":"` + r.NewTier + `"}`)
	case r.Route == "POST /api/conversations": // also a {id} write of a user without conversations
		r.Body = []byte(`{"title":"` + scenarios.WriteMark + `conversation ` + strconv.FormatUint(r.Index, 10) + `"}`)
	case rt.method == "POST" && rt.hasID:
		r.Body = []byte(`{"content":"` + scenarios.WriteMark + `message ` + strconv.FormatUint(r.Index, 10) + ` from ` + userID + `"}`)
	}
	return r, nil
}
