package driver

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/scenarios"
)

// Own routes: a mix entry naming a route of the target the harness has no model of
// (scenarios.MixEntry.Own). Its {placeholders} are filled per request: {user} with the
// user's ID, {id} with one of the user's conversations, {marker} (in a write's body) with
// the write's unique marker, any other name with the users file's column of that name.

// MarkerPrefix begins every own write's marker: MarkerPrefix + run nonce + "-" + plan index,
// e.g. "atlasbench-m3k9x2-1042". The checker finds markers in read bodies by it.
const MarkerPrefix = "atlasbench-"

// DefaultOwnBody is an own write's body when the mix entry gives none.
const DefaultOwnBody = `{"atlasbench":"{marker}"}`

// ownRoute is what the plan keeps of an own mix entry.
type ownRoute struct {
	body    string
	changes []string // paths of the declared reads, with placeholders
}

// addOwn adds mix entry i, an own route, to the plan.
func (p *Plan) addOwn(i int, m scenarios.MixEntry) error {
	write := m.Method != "GET"
	if m.Weight <= 0 || p.sc.ReadOnly && write {
		return nil
	}
	pr := planRoute{method: m.Method, path: m.Path, query: m.Query, pattern: m.Method + " " + m.Path,
		write: write, expect: slices.Clone(m.Expect), own: &ownRoute{body: m.Body}}
	if write {
		pr.class = "writes"
		if pr.own.body == "" {
			pr.own.body = DefaultOwnBody
		}
	}
	if len(pr.expect) == 0 {
		pr.expect = []int{200}
		if write {
			pr.expect = []int{200, 201, 204}
		}
	}
	for _, c := range m.Changes {
		_, path, _ := strings.Cut(c, " ")
		pr.own.changes = append(pr.own.changes, path)
	}
	for _, ph := range scenarios.Placeholders(m.Path + "?" + m.Query + " " + m.Body) {
		switch {
		case ph == "user", ph == "id", ph == "marker" && write:
		case p.opts.Users != nil && slices.Contains(p.opts.Users.Columns(), ph):
		default:
			cols := "the users file has no columns but id, token, tier, conversations"
			if p.opts.Users == nil {
				cols = "no -users file gives columns"
			} else if len(p.opts.Users.Columns()) > 0 {
				cols = "the users file's columns are " + strings.Join(p.opts.Users.Columns(), ", ")
			}
			return fmt.Errorf("driver: plan: scenario %q: mix[%d]: %s: placeholder {%s} is neither {user}, {id}, {marker} (writes) nor a users-file column (%s)",
				p.sc.Name, i, m.Req, ph, cols)
		}
	}
	p.cum = append(p.cum, p.total()+m.Weight)
	p.routes = append(p.routes, pr)
	return nil
}

// total is the mix weight so far.
func (p *Plan) total() float64 {
	if len(p.cum) == 0 {
		return 0
	}
	return p.cum[len(p.cum)-1]
}

// ownRequest plans a request of an own route for user i.
func (p *Plan) ownRequest(i int, userID string, rt planRoute) (*Request, error) {
	tok, err := p.token(i, userID)
	if err != nil {
		return nil, err
	}
	r := &Request{Index: p.next, UserIndex: i, UserID: userID, Token: tok, Method: rt.method, Route: rt.pattern,
		Class: rt.class, Write: rt.write, Tier: p.currentTier(i), Expect: rt.expect, Own: true}
	p.next++
	conv := ""
	if strings.Contains(rt.path+rt.query+rt.own.body, "{id}") {
		conv = p.ownConversation(i)
		r.ConversationID = conv
	}
	if rt.write {
		r.Marker = MarkerPrefix + p.nonce() + "-" + strconv.FormatUint(r.Index, 10)
	}
	fill := func(s string) string {
		if !strings.Contains(s, "{") {
			return s
		}
		for _, ph := range scenarios.Placeholders(s) {
			var v string
			switch ph {
			case "user":
				v = userID
			case "id":
				v = conv
			case "marker":
				v = r.Marker
			default:
				v, _ = p.opts.Users.Column(i, ph)
			}
			s = strings.ReplaceAll(s, "{"+ph+"}", v)
		}
		return s
	}
	r.Path = fill(rt.path)
	if rt.query != "" {
		r.Path += "?" + fill(rt.query)
	}
	if rt.write {
		r.Body = []byte(fill(rt.own.body))
		for _, c := range rt.own.changes {
			r.Changes = append(r.Changes, fill(c))
		}
	}
	return r, nil
}

// ownConversation draws one of user i's conversations ("" when it has none).
func (p *Plan) ownConversation(i int) string {
	if u := p.opts.Users; u != nil {
		if k := u.Conversations(i); k > 0 {
			return u.Conversation(i, p.conv.IntN(k))
		}
		return ""
	}
	if n := p.sc.Population.Conversations; n > 0 {
		return "c" + strconv.FormatInt(atlas.SeedConversationID(i, p.conv.IntN(n), n), 10)
	}
	return ""
}

// nonce tells this plan's markers from those of earlier runs against the same target.
func (p *Plan) nonce() string { return strconv.FormatInt(p.opts.Now.UnixNano(), 36) }
