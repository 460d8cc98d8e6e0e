package driver

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/atlasbench/atlasbench/internal/atlas"
	"github.com/atlasbench/atlasbench/scenarios"
)

// Users is a population read from a users file (LoadUsers) instead of seeded: each user's
// ID and bearer token, and optionally the tier and conversation IDs. What the file does not
// give, Learn asks the target for. Users are numbered 1…Len() in file order, as seeded
// users are u1…uN, so a plan over them is as deterministic as over a seeded population.
//
// The population is held once: every ID and token lives in one string (the arena), each user
// is two offsets into it, a tier byte and, when known, one string of its conversation IDs.
type Users struct {
	source string
	arena  string   // per user: ID, NUL, "Bearer ", token, then NUL and each extra column's value
	start  []uint32 // per user (0-based): where its record starts in arena
	end    []uint32 // and ends
	tiers  []uint8  // 0 unknown, else 1 + index in atlas.Tiers()
	convs  []string // space-separated conversation IDs; nil until some user's are known
	known  []bool   // convs[i] came from the file or from Learn (an empty list is known too); nil as convs
	// HasTiers and HasConversations say whether the file had those columns.
	HasTiers, HasConversations bool
	// columns are the file's other columns (CSV header names, JSON Lines string fields), in
	// order: the placeholders of own routes ("item" fills {item}).
	columns []string
}

// Users-file column names (CSV header, JSON Lines keys).
const (
	UsersColID            = "id"
	UsersColToken         = "token"
	UsersColTier          = "tier"
	UsersColConversations = "conversations"
)

// maxUsersErrors is how many problems LoadUsers reports before it stops reading.
const maxUsersErrors = 20

// LoadUsers reads a users file: CSV with a header line (columns id and token, optionally
// tier and conversations, the conversation IDs separated by spaces or semicolons), or JSON
// Lines ({"id","token","tier","conversations":[…]} per line; a file whose first byte that
// is not a space is "{" is JSON Lines). Problems are reported together, each as
// FILE:LINE: FIELD: what is wrong.
func LoadUsers(path string) (*Users, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("driver: users file: %w", err)
	}
	defer f.Close()
	size := int64(0)
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	br := bufio.NewReaderSize(f, 1<<16)
	u := &Users{source: path}
	b := newUsersBuilder(u, size)
	first, _ := br.Peek(512)
	if bytes.HasPrefix(bytes.TrimLeft(first, " \t\r\n\ufeff"), []byte("{")) {
		err = b.jsonLines(br)
	} else {
		err = b.csv(br)
	}
	if err != nil {
		return nil, err
	}
	u.arena = b.arena.String()
	for _, d := range b.dups { // same hash: the same ID, unless the hashes collide
		if u.ID(int(d[0])+1) == u.ID(int(d[1])+1) {
			b.fail(int(b.lines[d[1]]), UsersColID, "%q: also on line %d", u.ID(int(d[1])+1), b.lines[d[0]])
		}
	}
	if len(b.errs) > 0 {
		return nil, errors.Join(b.errs...)
	}
	if u.Len() == 0 {
		return nil, fmt.Errorf("driver: users file %s: no users", path)
	}
	return u, nil
}

// usersBuilder collects the users of a file as it is read. Duplicate IDs are found by a
// 64-bit hash of each ID (8 bytes a user, not a second copy of the IDs), confirmed once the
// arena is complete.
type usersBuilder struct {
	u     *Users
	arena strings.Builder
	lines []uint32         // per user: its line in the file
	seen  map[uint64]int32 // hash of an ID → the first user (0-based) with it
	dups  [][2]int32       // users whose IDs hash alike
	errs  []error
	// jsonColumns is set once the first JSON Lines record gave the other fields' names.
	jsonColumns bool
}

func newUsersBuilder(u *Users, size int64) *usersBuilder {
	b := &usersBuilder{u: u, seen: map[uint64]int32{}}
	b.arena.Grow(int(min(size+size/8, math.MaxInt32)))
	return b
}

func (b *usersBuilder) fail(line int, field, format string, args ...any) {
	if len(b.errs) < maxUsersErrors {
		b.errs = append(b.errs, fmt.Errorf("%s:%d: %s: %s", b.u.source, line, field, fmt.Sprintf(format, args...)))
	}
}

// add appends one user; convs is nil when the file does not say.
func (b *usersBuilder) add(line int, id, token, tier string, convs []string, haveConvs bool, extra []string) {
	ok := true
	if id == "" {
		b.fail(line, UsersColID, "empty")
		ok = false
	} else if strings.ContainsAny(id, "\x00/?#") {
		b.fail(line, UsersColID, "%q: must not contain NUL, /, ? or #", id)
		ok = false
	}
	if token == "" {
		b.fail(line, UsersColToken, "empty")
		ok = false
	} else if strings.ContainsAny(token, " \t\r\n\x00") {
		b.fail(line, UsersColToken, "contains whitespace")
		ok = false
	}
	var t uint8
	if tier != "" {
		for k, x := range atlas.Tiers() {
			if string(x) == tier {
				t = uint8(k + 1)
			}
		}
		if t == 0 {
			b.fail(line, UsersColTier, "%q: want free, core or studio", tier)
			ok = false
		}
	}
	for k, v := range extra {
		if strings.ContainsAny(v, "\x00/?#") {
			b.fail(line, b.u.columns[k], "%q: must not contain NUL, /, ? or # (it fills a path)", v)
			ok = false
		}
	}
	for _, c := range convs {
		if strings.ContainsAny(c, "/?#\x00") {
			b.fail(line, UsersColConversations, "%q: must not contain /, ? or #", c)
			ok = false
		}
	}
	if !ok {
		return
	}
	u := b.u
	h := uint64(14695981039346656037) // FNV-1a
	for k := 0; k < len(id); k++ {
		h = (h ^ uint64(id[k])) * 1099511628211
	}
	if first, dup := b.seen[h]; dup {
		b.dups = append(b.dups, [2]int32{first, int32(u.Len())})
	} else {
		b.seen[h] = int32(u.Len())
	}
	b.lines = append(b.lines, uint32(line))
	if int64(b.arena.Len())+int64(len(id)+len(token)+8) > math.MaxUint32 {
		b.fail(line, UsersColToken, "the file's IDs and tokens exceed 4 GiB")
		return
	}
	u.start = append(u.start, uint32(b.arena.Len()))
	b.arena.WriteString(id)
	b.arena.WriteString("\x00Bearer ")
	b.arena.WriteString(token)
	for _, v := range extra {
		b.arena.WriteByte(0)
		b.arena.WriteString(v)
	}
	u.end = append(u.end, uint32(b.arena.Len()))
	u.tiers = append(u.tiers, t)
	if haveConvs {
		u.growConvs()
		u.convs[len(u.convs)-1], u.known[len(u.known)-1] = strings.Join(convs, " "), true
	}
}

// csv reads a CSV users file with a header line.
func (b *usersBuilder) csv(r io.Reader) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err != nil {
		return fmt.Errorf("driver: users file %s: header: %w", b.u.source, err)
	}
	col := map[string]int{}
	for k, name := range head {
		name = strings.TrimPrefix(strings.TrimSpace(name), "\ufeff")
		switch name {
		case UsersColID, UsersColToken, UsersColTier, UsersColConversations:
			if _, dup := col[name]; dup {
				b.fail(1, name, "column given twice")
			}
			col[name] = k
		default:
			if name == "" || strings.ContainsAny(name, "{} ") || slices.Contains(b.u.columns, name) {
				b.fail(1, cmp.Or(name, fmt.Sprintf("column %d", k+1)), "a column name must be non-empty, unique, without {, } or spaces")
				continue
			}
			b.u.columns = append(b.u.columns, name) // an own route's placeholder
			col[name] = k
		}
	}
	for _, need := range []string{UsersColID, UsersColToken} {
		if _, ok := col[need]; !ok {
			b.fail(1, need, "missing column (the header needs id and token)")
		}
	}
	if len(b.errs) > 0 {
		return nil
	}
	_, b.u.HasTiers = col[UsersColTier]
	_, b.u.HasConversations = col[UsersColConversations]
	get := func(rec []string, name string) string {
		if k, ok := col[name]; ok && k < len(rec) {
			return strings.TrimSpace(rec[k])
		}
		return ""
	}
	for len(b.errs) < maxUsersErrors {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				b.fail(pe.Line, "csv", "%v", pe.Err)
				continue
			}
			return fmt.Errorf("driver: users file %s: %w", b.u.source, err)
		}
		var convs []string
		if b.u.HasConversations {
			convs = strings.FieldsFunc(get(rec, UsersColConversations), func(r rune) bool { return r == ' ' || r == ';' })
		}
		var extra []string
		for _, c := range b.u.columns {
			extra = append(extra, get(rec, c))
		}
		b.add(line, get(rec, UsersColID), get(rec, UsersColToken), get(rec, UsersColTier), convs, b.u.HasConversations, extra)
	}
	return nil
}

// jsonLines reads one JSON object per line.
func (b *usersBuilder) jsonLines(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	line := 0
	var tiers, convs bool
	for sc.Scan() && len(b.errs) < maxUsersErrors {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var rec struct {
			ID            string    `json:"id"`
			Token         string    `json:"token"`
			Tier          string    `json:"tier"`
			Conversations *[]string `json:"conversations"`
		}
		var all map[string]json.RawMessage
		if err := json.Unmarshal(text, &all); err != nil {
			b.fail(line, "json", "%v", err)
			continue
		}
		if err := json.Unmarshal(text, &rec); err != nil {
			b.fail(line, "json", "%v", err)
			continue
		}
		extra, bad := b.jsonExtra(line, all)
		if bad {
			continue
		}
		tiers = tiers || rec.Tier != ""
		var list []string
		if rec.Conversations != nil {
			convs, list = true, *rec.Conversations
		}
		b.add(line, rec.ID, rec.Token, rec.Tier, list, rec.Conversations != nil, extra)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("driver: users file %s: line %d: %w", b.u.source, line+1, err)
	}
	b.u.HasTiers, b.u.HasConversations = tiers, convs
	return nil
}

// jsonExtra returns a JSON Lines record's other fields in the order of columns, learning
// the columns from the first record: every record must have the same ones, as strings.
func (b *usersBuilder) jsonExtra(line int, all map[string]json.RawMessage) (extra []string, bad bool) {
	var names []string
	for k := range all {
		switch k {
		case UsersColID, UsersColToken, UsersColTier, UsersColConversations:
		default:
			names = append(names, k)
		}
	}
	slices.Sort(names)
	if !b.jsonColumns {
		b.u.columns, b.jsonColumns = names, true
	}
	if !slices.Equal(names, b.u.columns) {
		b.fail(line, "json", "fields %v, but the first record's other fields are %v: every line needs the same", names, b.u.columns)
		return nil, true
	}
	for _, k := range b.u.columns {
		var v string
		if err := json.Unmarshal(all[k], &v); err != nil {
			b.fail(line, k, "not a string (an own route's placeholder)")
			bad = true
		}
		extra = append(extra, v)
	}
	return extra, bad
}

// Columns are the users file's other columns, which fill own routes' placeholders.
func (u *Users) Columns() []string { return u.columns }

// Column is user i's value of the column name, and whether the file has that column.
func (u *Users) Column(i int, name string) (string, bool) {
	k := slices.Index(u.columns, name)
	if k < 0 {
		return "", false
	}
	rec := u.arena[u.start[i-1]:u.end[i-1]]
	for range k + 2 { // past the ID and the bearer
		_, rec, _ = strings.Cut(rec, "\x00")
	}
	v, _, _ := strings.Cut(rec, "\x00")
	return v, true
}

// Source is the file the users came from.
func (u *Users) Source() string { return u.source }

// Len is the number of users.
func (u *Users) Len() int { return len(u.start) }

// record is user i's (1-based) ID and Authorization value.
func (u *Users) record(i int) (id, bearer string) {
	rec := u.arena[u.start[i-1]:u.end[i-1]]
	id, rest, _ := strings.Cut(rec, "\x00")
	bearer, _, _ = strings.Cut(rest, "\x00")
	return id, bearer
}

// ID is user i's (1-based) ID.
func (u *Users) ID(i int) string { id, _ := u.record(i); return id }

// Bearer is user i's Authorization header value, "Bearer <token>".
func (u *Users) Bearer(i int) string { _, b := u.record(i); return b }

// Token is user i's bearer token.
func (u *Users) Token(i int) string { return strings.TrimPrefix(u.Bearer(i), "Bearer ") }

// Tier is user i's tier: from the file or Learn; "" when unknown.
func (u *Users) Tier(i int) string {
	if t := u.tiers[i-1]; t > 0 {
		return string(atlas.Tiers()[t-1])
	}
	return ""
}

// growConvs makes convs and known as long as the users (they are nil while no user's
// conversations are known).
func (u *Users) growConvs() {
	for len(u.convs) < u.Len() {
		u.convs, u.known = append(u.convs, ""), append(u.known, false)
	}
}

// Conversations is how many conversation IDs user i has (file or Learn).
func (u *Users) Conversations(i int) int {
	if i > len(u.convs) {
		return 0
	}
	return len(strings.Fields(u.convs[i-1]))
}

// Conversation is user i's k-th conversation ID (0-based, in the file's or the target's order).
func (u *Users) Conversation(i, k int) string {
	if i > len(u.convs) {
		return ""
	}
	s := u.convs[i-1]
	for ; k > 0; k-- {
		_, s, _ = strings.Cut(s, " ")
	}
	id, _, _ := strings.Cut(s, " ")
	return id
}

// KnowsConversations reports whether user i's conversations are known (possibly none).
func (u *Users) KnowsConversations(i int) bool { return i <= len(u.known) && u.known[i-1] }

// setTier and setConversations record what Learn found for user i.
func (u *Users) setTier(i int, tier string) {
	for k, x := range atlas.Tiers() {
		if string(x) == tier {
			u.tiers[i-1] = uint8(k + 1)
		}
	}
}

func (u *Users) setConversations(i int, ids []string) {
	u.growConvs()
	u.convs[i-1], u.known[i-1] = strings.Join(ids, " "), true
}

// Keep drops every user for whom keep is false (refused tokens), renumbering the rest in
// order. It returns how many were dropped.
func (u *Users) Keep(keep func(i int) bool) int {
	if u.convs != nil {
		u.growConvs()
	}
	n := 0
	for i := 1; i <= u.Len(); i++ {
		if keep(i) {
			u.start[n], u.end[n], u.tiers[n] = u.start[i-1], u.end[i-1], u.tiers[i-1]
			if u.convs != nil {
				u.convs[n], u.known[n] = u.convs[i-1], u.known[i-1]
			}
			n++
		}
	}
	dropped := u.Len() - n
	u.start, u.end, u.tiers = u.start[:n], u.end[:n], u.tiers[:n]
	if u.convs != nil {
		u.convs, u.known = u.convs[:n], u.known[:n]
	}
	return dropped
}

// usersConversation fills r's conversation from the users file (or what Learn found) and
// returns the route's path with it. A user with no conversation cannot take a {id} route:
// the request becomes the route's collection (GET or POST /api/conversations) instead.
func (p *Plan) usersConversation(r *Request, rt planRoute, i int) string {
	u := p.opts.Users
	if k := u.Conversations(i); k > 0 {
		r.ConversationID = u.Conversation(i, p.conv.IntN(k))
		return strings.ReplaceAll(rt.path, "{id}", r.ConversationID)
	}
	collection := "/api/conversations"
	if c, ok := scenarios.LookupRoute(rt.method, collection); ok {
		r.Route, r.Class, r.Write, r.Expect, r.Limit = rt.method+" "+collection, c.Class, c.Write, c.Expect, 0
	}
	return collection
}
