package driver

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func writeUsers(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadUsersCSVAndJSONLines(t *testing.T) {
	for name, content := range map[string]string{
		"users.csv": "id,token,tier,conversations\nacct-1,tok1,core,c7;c9\nacct-2, tok2 ,,\n\"acct-3\",tok3,studio,c11 c12 c13\n",
		"users.jsonl": `{"id":"acct-1","token":"tok1","tier":"core","conversations":["c7","c9"]}` + "\n" +
			`{"id":"acct-2","token":"tok2","conversations":[]}` + "\n\n" +
			`{"id":"acct-3","token":"tok3","tier":"studio","conversations":["c11","c12","c13"]}` + "\n",
	} {
		u, err := LoadUsers(writeUsers(t, name, content))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if u.Len() != 3 || !u.HasTiers || !u.HasConversations {
			t.Fatalf("%s: %d users, tiers %v, conversations %v", name, u.Len(), u.HasTiers, u.HasConversations)
		}
		for i, want := range []struct{ id, token, bearer, tier string }{
			{"acct-1", "tok1", "Bearer tok1", "core"}, {"acct-2", "tok2", "Bearer tok2", ""}, {"acct-3", "tok3", "Bearer tok3", "studio"},
		} {
			if u.ID(i+1) != want.id || u.Token(i+1) != want.token || u.Bearer(i+1) != want.bearer || u.Tier(i+1) != want.tier {
				t.Errorf("%s: user %d = %q %q %q %q, want %+v", name, i+1, u.ID(i+1), u.Token(i+1), u.Bearer(i+1), u.Tier(i+1), want)
			}
		}
		if u.Conversations(3) != 3 || u.Conversation(3, 1) != "c12" || u.Conversations(2) != 0 || !u.KnowsConversations(2) {
			t.Errorf("%s: conversations %d %q %d %v", name, u.Conversations(3), u.Conversation(3, 1), u.Conversations(2), u.KnowsConversations(2))
		}
	}
	// Other columns fill own routes' placeholders.
	for name, content := range map[string]string{
		"cols.csv":   "id,token,item,shelf\na,t1,i-1,s9\nb,t2,i-2,\n",
		"cols.jsonl": `{"id":"a","token":"t1","item":"i-1","shelf":"s9"}` + "\n" + `{"shelf":"","item":"i-2","id":"b","token":"t2"}` + "\n",
	} {
		u, err := LoadUsers(writeUsers(t, name, content))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		item, ok := u.Column(2, "item")
		shelf, _ := u.Column(1, "shelf")
		if _, has := u.Column(1, "colour"); item != "i-2" || !ok || shelf != "s9" || has || u.Token(1) != "t1" || u.Bearer(2) != "Bearer t2" {
			t.Errorf("%s: item %q %v, shelf %q, colour %v, tokens %q %q", name, item, ok, shelf, has, u.Token(1), u.Bearer(2))
		}
	}
	// Without the optional columns nothing is known yet: Learn asks the target.
	u, err := LoadUsers(writeUsers(t, "min.csv", "token,id\nt1,a\nt2,b\n"))
	if err != nil || u.HasTiers || u.HasConversations || u.KnowsConversations(1) || u.Tier(2) != "" || u.ID(2) != "b" {
		t.Fatalf("minimal file: %v %+v", err, u)
	}
	if n := u.Keep(func(i int) bool { return i != 1 }); n != 1 || u.Len() != 1 || u.ID(1) != "b" || u.Token(1) != "t2" {
		t.Errorf("Keep dropped %d, left %d users, first %q", n, u.Len(), u.ID(1))
	}
}

// Every problem is reported at once, each with the file, the line and the field.
func TestLoadUsersErrorsNameLineAndField(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		want          []string
	}{
		{"bad.csv", "id,token,tier\nu1,t1,free\nu2,,free\nu1,t3,\n,t4,\nu7,t7,gold\n", []string{
			"bad.csv:3: token: empty", "bad.csv:4: id: \"u1\": also on line 2", "bad.csv:5: id: empty",
			"bad.csv:6: tier: \"gold\": want free, core or studio"}},
		{"head.csv", "id,{item}\nu1,x\n", []string{"head.csv:1: {item}: a column name must be", "head.csv:1: token: missing column"}},
		{"path.csv", "id,token,item\nu1,t,a/b\n", []string{`path.csv:2: item: "a/b": must not contain`}},
		{"bad.jsonl", "{\"id\":\"u1\",\"token\":\"t\"}\n{\"id\":\"u2\",\"token\":\"t\",\"plan\":\"pro\"}\n{\"id\":\"u3\",\"token\":\"t t\"}\n{\"id\":", []string{
			"bad.jsonl:2: json: fields [plan], but the first record's other fields are []", "bad.jsonl:3: token: contains whitespace", "bad.jsonl:4: json:"}},
		{"empty.csv", "id,token\n", []string{"no users"}},
	} {
		_, err := LoadUsers(writeUsers(t, tc.name, tc.content))
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error lacks %q:\n%v", tc.name, w, err)
			}
		}
	}
}

// usersN is how many users TestLoadUsersMillion loads: 100,000 in make test (the heap's
// growth against the file's size is the same ratio at any size, and a million under -race
// on a busy 2-core machine takes minutes); make bench-users loads the million.
var usersN = flag.Int("users.n", 100_000, "how many users TestLoadUsersMillion loads (make bench-users: 1000000)")

// A million users load (-users.n), and the population is held once: the heap grows by about
// the file's size (its IDs and tokens, in one string), not twice that.
func TestLoadUsersMillion(t *testing.T) {
	n := *usersN
	p := filepath.Join(t.TempDir(), "million.csv")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "id,token,tier")
	tok := strings.Repeat("x", 120) // a JWT's length
	tiers := []string{"free", "core", "studio"}
	for i := range n {
		fmt.Fprintf(w, "user-%d,%s%d,%s\n", i+1, tok, i, tiers[i%3])
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	st, _ := os.Stat(p)

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	u, err := LoadUsers(p)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if u.Len() != n || u.ID(n) != fmt.Sprintf("user-%d", n) || u.Tier(n) != tiers[(n-1)%3] {
		t.Fatalf("%d users, last %q %q", u.Len(), u.ID(n), u.Tier(n))
	}
	t.Logf("file %d MiB, heap +%d MiB for %d users", st.Size()>>20, grew>>20, n)
	if grew > st.Size()*3/2 {
		t.Errorf("heap grew %d bytes for a %d-byte file: the population is held more than once", grew, st.Size())
	}
	runtime.KeepAlive(u)
}
