package driver

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/scenarios"
)

// BodyLimit is the reference server's request body limit: oversized-body attacks send more.
const BodyLimit = 64 << 10

// maxHostileLen bounds the hostile strings (IDs, limits, subjects): 4 KiB.
const maxHostileLen = 4 << 10

// addAttack checks that the plan can generate mix entry i's attack, and prepares what it
// needs (the RSA key of bad-token's RS256 tokens).
func (p *Plan) addAttack(i int, m scenarios.MixEntry) error {
	pop := p.sc.Population
	switch {
	case !slices.Contains(scenarios.AttackKinds(), m.Attack):
		return fmt.Errorf("driver: plan: scenario %q: mix[%d]: unknown attack %q (known: %s)",
			p.sc.Name, i, m.Attack, strings.Join(scenarios.AttackKinds(), ", "))
	case scenarios.AttackNeedsOthers(m.Attack) && pop.Users < 2:
		return fmt.Errorf("driver: plan: scenario %q: mix[%d]: attack %s needs population.users >= 2", p.sc.Name, i, m.Attack)
	case scenarios.AttackNeedsConversations(m.Attack) && pop.Conversations < 1:
		return fmt.Errorf("driver: plan: scenario %q: mix[%d]: attack %s needs population.conversations >= 1", p.sc.Name, i, m.Attack)
	}
	if m.Attack == scenarios.AttackBadToken && p.rsaKey == nil {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return fmt.Errorf("driver: plan: RSA key for bad-token: %w", err)
		}
		p.rsaKey = key
	}
	return nil
}

// attackRequest fills r (Index, user, Route and Attack set) with one concrete attack of
// its kind, drawn from the plan's attack stream.
func (p *Plan) attackRequest(r *Request) error {
	switch r.Attack {
	case scenarios.AttackForeignConversation:
		p.foreignConversation(r)
	case scenarios.AttackPathVariant:
		p.pathVariant(r)
	case scenarios.AttackHostileID:
		p.hostileID(r)
	case scenarios.AttackBadToken:
		if err := p.badToken(r); err != nil {
			return err
		}
	case scenarios.AttackSpoofedHeader:
		p.spoofedHeader(r)
	case scenarios.AttackOversizedBody:
		p.oversizedBody(r)
	case scenarios.AttackMalformedBody:
		p.malformedBody(r)
	case scenarios.AttackBadTier:
		p.badTier(r)
	default:
		return fmt.Errorf("driver: plan: unknown attack %q", r.Attack)
	}
	if r.Attack != scenarios.AttackBadToken {
		tok, err := p.token(r.UserIndex, r.UserID)
		if err != nil {
			return err
		}
		r.Token = tok
	}
	if r.Method != "GET" {
		r.Write, r.Class = true, atlas.QueryWrites
	}
	return nil
}

// pick draws from [0, n) on the attack stream.
func (p *Plan) pick(n int) int { return p.hostile.IntN(n) }

// other draws a user other than i, uniformly.
func (p *Plan) other(i int) int {
	j := 1 + p.pick(p.sc.Population.Users-1)
	if j >= i {
		j++
	}
	return j
}

// conversationOf draws one of user i's seeded conversations: "c<ID>".
func (p *Plan) conversationOf(i int) string {
	n := p.sc.Population.Conversations
	return "c" + strconv.FormatInt(atlas.SeedConversationID(i, p.pick(n), n), 10)
}

func messagesPath(conv string) string { return "/api/conversations/" + conv + "/messages" }

// target is a route an attack aims at, with a body that would be accepted there.
type target struct {
	method, path, class string
	body                []byte
}

// ownTarget draws one of the routes of user r, with a valid body for the writes.
func (p *Plan) ownTarget(r *Request) target {
	n := strconv.FormatUint(r.Index, 10)
	switch p.pick(7) {
	case 0:
		return target{method: "GET", path: "/api/me", class: atlas.QueryUserProfile}
	case 1:
		return target{method: "GET", path: "/api/me/tier", class: atlas.QueryTier}
	case 2:
		return target{method: "GET", path: "/api/conversations", class: atlas.QueryConversations}
	case 3:
		return target{method: "GET", path: messagesPath(p.conversationOf(r.UserIndex)), class: atlas.QueryAPIResponses}
	case 4:
		return target{method: "POST", path: messagesPath(p.conversationOf(r.UserIndex)), body: []byte(`{"content":"atlasbench attack ` + n + `"}`)}
	case 5:
		return target{method: "POST", path: "/api/conversations", body: []byte(`{"title":"atlasbench attack ` + n + `"}`)}
	default:
		t := atlas.Tiers()[p.pick(len(atlas.Tiers()))]
		return target{method: "PUT", path: "/api/me/tier", body: []byte(`{"tier":"` + string(t) + `"}`)}
	}
}

// foreignConversation reads or posts to another user's conversation: 404, never 200.
func (p *Plan) foreignConversation(r *Request) {
	j := p.other(r.UserIndex)
	conv := p.conversationOf(j)
	r.Path, r.Expect = messagesPath(conv), []int{404}
	if p.pick(2) == 0 {
		r.Method, r.Class = "GET", atlas.QueryAPIResponses
		r.Path += []string{"", "?limit=1", "?limit=20", "?limit=200"}[p.pick(4)]
		r.Variant = "read " + conv + " of " + atlas.SeedUserID(j)
		return
	}
	r.Method = "POST"
	r.Body = []byte(`{"content":"atlasbench attack ` + strconv.FormatUint(r.Index, 10) + `"}`)
	r.Variant = "post to " + conv + " of " + atlas.SeedUserID(j)
}

// pathMutation turns a path's segments into a variant that must not alias the route.
type pathMutation struct {
	name  string
	apply func(s []string) string
	query bool // keeps the route (adds a query): may answer 200 with the requester's own data
}

func joinPath(s []string) string { return "/" + strings.Join(s, "/") }

// withInner returns s with its second-to-last segment changed by f.
func withInner(s []string, f func(string) string) []string {
	c := slices.Clone(s)
	c[len(c)-2] = f(c[len(c)-2])
	return c
}

func pathMutations() []pathMutation {
	last := func(s []string) string { return s[len(s)-1] }
	head := func(s []string) string { return joinPath(s[:len(s)-1]) }
	return []pathMutation{
		{name: "suffix .css", apply: func(s []string) string { return joinPath(s) + ".css" }},
		{name: "suffix .js", apply: func(s []string) string { return joinPath(s) + ".js" }},
		{name: "inner .css", apply: func(s []string) string {
			return joinPath(withInner(s, func(x string) string { return x + ".css" }))
		}},
		{name: "trailing slash", apply: func(s []string) string { return joinPath(s) + "/" }},
		{name: "trailing //", apply: func(s []string) string { return joinPath(s) + "//" }},
		{name: "%2f", apply: func(s []string) string { return head(s) + "%2f" + last(s) }},
		{name: "%2F..%2F", apply: func(s []string) string { return head(s) + "%2F..%2F/" + last(s) }},
		{name: ";x", apply: func(s []string) string { return joinPath(s) + ";x" }},
		{name: "inner ;x", apply: func(s []string) string {
			return joinPath(withInner(s, func(x string) string { return x + ";x" }))
		}},
		{name: "..", apply: func(s []string) string { return joinPath(s) + "/../" + last(s) }},
		{name: "x/..", apply: func(s []string) string { return head(s) + "/x/../" + last(s) }},
		{name: "%2e%2e", apply: func(s []string) string { return joinPath(s) + "/%2e%2e/" + last(s) }},
		{name: "./", apply: func(s []string) string { return head(s) + "/./" + last(s) }},
		{name: "//", apply: func(s []string) string { return "/" + s[0] + "//" + strings.Join(s[1:], "/") }},
		{name: "/API", apply: func(s []string) string { return "/API/" + strings.Join(s[1:], "/") }},
		{name: "capitalised", apply: func(s []string) string {
			return head(s) + "/" + strings.ToUpper(last(s)[:1]) + last(s)[1:]
		}},
		{name: "upper case", apply: func(s []string) string { return strings.ToUpper(joinPath(s)) }},
		{name: "query .css", query: true, apply: func(s []string) string {
			if last(s) == "messages" {
				return joinPath(s) + "?limit=20&x=style.css"
			}
			return joinPath(s) + "?x=style.css"
		}},
		{name: "query path", query: true, apply: func(s []string) string {
			return joinPath(s) + "?path=%2Fapi%2Fme.css&cb=1"
		}},
	}
}

// pathVariant aliases the caller's own or another user's route or conversation: 404 or
// 400, or 200 with the requester's own body (the isolation check judges it).
func (p *Plan) pathVariant(r *Request) {
	var segs []string
	class, who := "", "own"
	switch t := p.pick(7); {
	case t < 2:
		segs, class = []string{"api", "conversations", p.conversationOf(r.UserIndex), "messages"}, atlas.QueryAPIResponses
	case t < 4:
		j := p.other(r.UserIndex)
		segs, class, who = []string{"api", "conversations", p.conversationOf(j), "messages"}, atlas.QueryAPIResponses, "of "+atlas.SeedUserID(j)
	case t == 4:
		segs, class = []string{"api", "me"}, atlas.QueryUserProfile
	case t == 5:
		segs, class = []string{"api", "me", "tier"}, atlas.QueryTier
	default:
		segs, class = []string{"api", "conversations"}, atlas.QueryConversations
	}
	muts := pathMutations()
	post := segs[len(segs)-1] == "messages" && p.pick(4) == 0
	if post {
		muts = slices.DeleteFunc(muts, func(m pathMutation) bool { return m.query })
	}
	m := muts[p.pick(len(muts))]
	r.Path, r.Variant = m.apply(segs), m.name+" ("+who+")"
	r.Method, r.Expect = "GET", []int{404, 400, 200}
	if m.query {
		r.Class = class // routed as usual: the route's own cache lookup happens
	}
	if post {
		r.Method, r.Expect = "POST", []int{404, 400}
		r.Body = []byte(`{"content":"atlasbench attack ` + strconv.FormatUint(r.Index, 10) + `"}`)
	}
}

// hostileLen draws the length of a long hostile string: 64 B to 4 KiB.
func (p *Plan) hostileLen() int { return 64 + p.pick(maxHostileLen-64+1) }

// hostileID sends conversation IDs and limits with : * ? [ ] \ % and long strings: 404 or 400.
func (p *Plan) hostileID(r *Request) {
	own := p.conversationOf(r.UserIndex)
	num, n := own[1:], p.hostileLen()
	r.Expect = []int{404, 400}
	if p.pick(4) == 0 {
		// A hostile limit on the caller's own conversation.
		limits := []struct{ name, v string }{
			{"limit *", "5*"}, {"limit %2A", "%2A"}, {"limit -1", "-1"}, {"limit 0", "0"}, {"limit 201", "201"},
			{"limit 1e3", "1e3"}, {"limit twice", "20&limit=20"}, {"limit NUL", "%00"}, {"limit [1]", "[1]"},
			{"limit :", "1:2"}, {"limit ?", "%3F"}, {"limit \\", "%5C"}, {"limit %", "%25"},
			{"long limit", strings.Repeat("9", n)},
		}
		l := limits[p.pick(len(limits))]
		r.Method, r.Path, r.Variant = "GET", messagesPath(own)+"?limit="+l.v, l.name
		return
	}
	ids := []struct{ name, id string }{
		{": suffix", own + ":"}, {": prefix", "atlas:v1:" + own}, {": user", own + ":u1"},
		{"* suffix", own + "*"}, {"* alone", "*"}, {"* glob", "c*"},
		{"? (escaped)", own + "%3F"}, {"? glob", "c%3F%3F"},
		{"[ ] class", "c[0-9]*"}, {"[ ] suffix", own + "[0]"},
		{"\\ (escaped)", own + "%5C*"}, {"% (escaped)", own + "%25"}, {"%2A", own + "%2A"},
		{"NUL", own + "%00"}, {"space", own + "%20"},
		{"leading zero", "c0" + num}, {"plus sign", "c+" + num}, {"minus sign", "c-" + num}, {"upper C", "C" + num},
		{"overflow", "c9223372036854775808"}, {"no such conversation", "c999999999999999999"},
		{"long digits", "c" + strings.Repeat("1", n-1)},
		{"long *", own + strings.Repeat("*", n-len(own))},
		{"long :", strings.Repeat(":", n)},
		{"long %2A", strings.Repeat("%2A", n/3)},
		{"long a", strings.Repeat("a", n)},
	}
	id := ids[p.pick(len(ids))]
	r.Path, r.Variant = messagesPath(id.id), id.name
	r.Method = "GET"
	if id.name == "no such conversation" {
		r.Class = atlas.QueryAPIResponses // a well-formed ID: looked up (and negatively cached)
	}
	if p.pick(3) == 0 {
		r.Method = "POST"
		r.Body = []byte(`{"content":"atlasbench attack ` + strconv.FormatUint(r.Index, 10) + `"}`)
	}
}

// hostileSubjects are subjects with the characters that matter to Redis keys and patterns.
func hostileSubjects(u string) []string {
	return []string{u + "*", u + ":", u + ":tier", "*", u + "?", "u?", u + "[0]", "[a-z]*", u + `\`, `\*`,
		u + "%", "%2A", "atlas:v1:" + u, u + ":*", "*:" + u}
}

// badToken sends a token that must not authenticate (or none): 401.
func (p *Plan) badToken(r *Request) error {
	t := p.ownTarget(r)
	r.Method, r.Path, r.Body, r.Expect = t.method, t.path, t.body, []int{401}
	now, ttl, u := p.opts.Now, p.opts.TokenTTL, r.UserID
	subjects := hostileSubjects(u)
	claims := func(sub string) jwt.MapClaims {
		return jwt.MapClaims{"sub": sub, "iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(ttl).Unix()}
	}
	wrong := append(slices.Clone(p.opts.Secret), "-not-the-secret"...)
	type tokenCase struct {
		name   string
		method jwt.SigningMethod
		key    any
		claims jwt.MapClaims
		auth   string // the whole Authorization header instead of a token ("" with no method: none at all)
	}
	cases := []tokenCase{
		{name: "alg none", method: jwt.SigningMethodNone, key: jwt.UnsafeAllowNoneSignatureType, claims: claims(u)},
		{name: "HS384", method: jwt.SigningMethodHS384, key: p.opts.Secret, claims: claims(u)},
		{name: "HS512", method: jwt.SigningMethodHS512, key: p.opts.Secret, claims: claims(u)},
		{name: "RS256", method: jwt.SigningMethodRS256, key: p.rsaKey, claims: claims(u)},
		{name: "wrong secret", method: jwt.SigningMethodHS256, key: wrong, claims: claims(u)},
		{name: "expired", method: jwt.SigningMethodHS256, key: p.opts.Secret, claims: jwt.MapClaims{
			"sub": u, "iat": now.Add(-2 * time.Hour).Unix(), "nbf": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()}},
		{name: "not yet valid", method: jwt.SigningMethodHS256, key: p.opts.Secret, claims: jwt.MapClaims{
			"sub": u, "iat": now.Unix(), "nbf": now.Add(ttl).Unix(), "exp": now.Add(2 * ttl).Unix()}},
		{name: "no expiry", method: jwt.SigningMethodHS256, key: p.opts.Secret, claims: jwt.MapClaims{"sub": u, "iat": now.Unix()}},
		{name: "no subject", method: jwt.SigningMethodHS256, key: p.opts.Secret, claims: jwt.MapClaims{
			"iat": now.Unix(), "exp": now.Add(ttl).Unix()}},
		{name: "unknown user", method: jwt.SigningMethodHS256, key: p.opts.Secret,
			claims: claims(atlas.SeedUserID(p.sc.Population.Users + 1 + p.pick(1000)))},
		{name: "unknown user (alias)", method: jwt.SigningMethodHS256, key: p.opts.Secret,
			claims: claims([]string{"u0", "u-1", "u0" + u[1:], "U" + u[1:], u + " ", " " + u}[p.pick(6)])},
		{name: "hostile subject", method: jwt.SigningMethodHS256, key: p.opts.Secret,
			claims: claims(subjects[p.pick(len(subjects))])},
		{name: "long subject", method: jwt.SigningMethodHS256, key: p.opts.Secret,
			claims: claims(u + strings.Repeat("*", p.hostileLen()))},
		{name: "no Authorization"},
		{name: "Basic", auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":password"))},
		{name: "empty bearer", auth: "Bearer "},
		{name: "garbage bearer", auth: "Bearer not.a.token"},
	}
	c := cases[p.pick(len(cases))]
	r.Variant = c.name
	r.Header = http.Header{}
	switch {
	case c.method != nil:
		tok, err := jwt.NewWithClaims(c.method, c.claims).SignedString(c.key)
		if err != nil {
			return fmt.Errorf("driver: plan: %s token: %w", c.name, err)
		}
		r.Token = tok
	case c.auth != "":
		r.Header.Set("Authorization", c.auth)
	}
	if p.pick(2) == 0 {
		r.Header.Set("X-User-Id", u) // spoofing the claimed user must not help either
	}
	return nil
}

// spoofedHeader sends user A's valid token with headers (and a query) naming user B:
// A's own data, or 404 for B's conversation.
func (p *Plan) spoofedHeader(r *Request) {
	j := p.other(r.UserIndex)
	b := atlas.SeedUserID(j)
	r.Header = http.Header{}
	r.Header.Set("X-User-Id", b)
	r.Header.Set("X-Forwarded-User", b)
	if extra := []string{"", "X-Remote-User", "X-Auth-Request-User", "X-Original-User"}[p.pick(4)]; extra != "" {
		r.Header.Set(extra, b)
	}
	r.Method, r.Expect = "GET", []int{200}
	switch p.pick(5) {
	case 0:
		r.Path, r.Class = "/api/me", atlas.QueryUserProfile
	case 1:
		r.Path, r.Class = "/api/me/tier", atlas.QueryTier
	case 2:
		r.Path, r.Class = "/api/conversations", atlas.QueryConversations
	case 3:
		r.Path, r.Class = messagesPath(p.conversationOf(r.UserIndex))+"?limit=20", atlas.QueryAPIResponses
	default:
		r.Path, r.Class, r.Expect = messagesPath(p.conversationOf(j))+"?limit=20", atlas.QueryAPIResponses, []int{404}
	}
	r.Variant = "headers name " + b
	if p.pick(2) == 0 {
		sep := "?"
		if strings.Contains(r.Path, "?") {
			sep = "&"
		}
		r.Path += sep + "userId=" + b
		r.Variant += ", ?userId=" + b
	}
}

// oversizedBody sends a body larger than BodyLimit (up to twice it) to a write: 413.
func (p *Plan) oversizedBody(r *Request) {
	size := BodyLimit + 1 + p.pick(BodyLimit)
	var field string
	switch p.pick(3) {
	case 0:
		r.Method, r.Path, field = "POST", messagesPath(p.conversationOf(r.UserIndex)), "content"
	case 1:
		r.Method, r.Path, field = "POST", "/api/conversations", "title"
	default:
		r.Method, r.Path, field = "PUT", "/api/me/tier", "tier"
	}
	prefix := `{"` + field + `":"`
	body := make([]byte, 0, size)
	body = append(body, prefix...)
	for len(body) < size-2 {
		body = append(body, 'A')
	}
	r.Body = append(body, `"}`...)
	r.Variant = strconv.Itoa(len(r.Body)) + "-byte " + field
	r.Expect = []int{413}
}

// malformedBody sends broken JSON, unknown fields, trailing data and wrong types to a write: 400.
func (p *Plan) malformedBody(r *Request) {
	var f, v string // the field the route reads and a value it would accept
	switch p.pick(3) {
	case 0:
		r.Method, r.Path, f, v = "POST", messagesPath(p.conversationOf(r.UserIndex)), "content", `"x"`
	case 1:
		r.Method, r.Path, f, v = "POST", "/api/conversations", "title", `"x"`
	default:
		r.Method, r.Path, f, v = "PUT", "/api/me/tier", "tier", `"core"`
	}
	k := `"` + f + `"`
	bodies := []struct{ name, body string }{
		{"empty body", ""}, {"not JSON", "not json"}, {"truncated", "{" + k + ":"}, {"unterminated", "{" + k + ":" + v},
		{"unclosed string", "{" + k + `:"x`}, {"array", "[{" + k + ":" + v + "}]"}, {"string", k}, {"number", "42"},
		{"null", "null"}, {"empty object", "{}"},
		{"trailing garbage", "{" + k + ":" + v + "}garbage"}, {"second object", "{" + k + ":" + v + "} {}"},
		{"trailing ]", "{" + k + ":" + v + "}]"},
		{"number for text", "{" + k + ":5}"}, {"array for text", "{" + k + ":[" + v + "]}"},
		{"object for text", "{" + k + `:{"value":` + v + "}}"}, {"bool for text", "{" + k + ":true}"},
		{"unknown field", "{" + k + ":" + v + `,"admin":true}`},
		{"userId field", "{" + k + ":" + v + `,"userId":"` + atlas.SeedUserID(r.UserIndex%p.sc.Population.Users+1) + `"}`},
		{"NUL", "{" + k + `:"a\u0000b"}`},
		{"deep nesting", "{" + k + ":" + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + "}"},
		{"single quotes", "{'" + f + "':" + v + "}"}, {"comment", "{" + k + ":" + v + " /* c */}"},
		{"trailing comma", "{" + k + ":" + v + ",}"}, {"NaN", "{" + k + ":NaN}"},
	}
	b := bodies[p.pick(len(bodies))]
	r.Body, r.Variant, r.Expect = []byte(b.body), b.name, []int{400}
}

// badTier puts a tier outside free, core and studio: 400.
func (p *Plan) badTier(r *Request) {
	tiers := []string{`"platinum"`, `"FREE"`, `"free "`, `" core"`, `""`, `3`, `null`, `"Studio"`, `"enterprise"`,
		`"free\u0000"`, `"core*"`, `["core"]`, `true`, `"*"`, `"free,core"`, `"studio\n"`, `{"name":"core"}`,
		`"` + strings.Repeat("x", p.hostileLen()) + `"`}
	t := tiers[p.pick(len(tiers))]
	r.Method, r.Path, r.Body, r.Expect = "PUT", "/api/me/tier", []byte(`{"tier":`+t+`}`), []int{400}
	r.Variant = "tier " + t
	if len(r.Variant) > 40 {
		r.Variant = r.Variant[:30] + "…"
	}
}
