package check

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/atlasbench/atlasbench/internal/driver"
)

// bodies are answers the reference server gives, and the odd ones a broken or hostile
// server could: decodeBody must read every one as json.Unmarshal does.
var bodies = []string{
	`{"userId":"u1","tier":"core","limits":{"messagesPerDay":0,"maxMessageBytes":16000}}`,
	`{"userId":"u7","displayName":"User 7","tier":"studio","createdAt":"2026-01-02T03:04:05Z"}`,
	`{"userId":"u3","conversations":[{"id":"c12","userId":"u3","title":"t","createdAt":"2026-01-01T00:00:00.5Z","messageCount":3}]}`,
	`{"userId":"u3","conversationId":"c12","messages":[{"id":"m1","userId":"u3","body":"a \"quoted\" body\n","createdAt":"2026-01-01T00:00:00Z"},{"id":"m2","userId":"u4"}],"nextCursor":null}`,
	`{"id":"m90012","conversationId":"c12","userId":"u3","createdAt":"2026-01-01T00:00:00.123456789Z"}`,
	`{"error":{"code":"not_found","message":"no such conversation"}}`,
	` { "USERID" : "u1" , "Tier":"free" } `,
	`{"userId":null,"tier":null,"id":null,"messages":null,"conversations":[]}`,
	`{"userId":"u1","userId":"u2"}`,
	`{"messages":[null,{}]}`,
	`{"u\u0073erId":"u\u00e9","tier":"caf\u00e9 \ud83d\ude00"}`,
	`{"userId":"\xff\xfe"}`,
	`{"ſerId":"x","userıd":"y"}`,
	`{"n":[1,-0.5,2e10,-1E-3,true,false,null,{},[],""],"userId":"u1"}`,
	`null`, `{}`, `[]`, `"s"`, `1`, ``, ` `, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `{"a":01}`,
	`{"a":1.}`, `{"a":-}`, `{"a":1e}`, `{"a":tru}`, `{"a":"\x01"}`, `{"a":"\q"}`, `{"a":"\u12"}`,
	`{"userId":5}`, `{"tier":{}}`, `{"messages":{}}`, `{"messages":[1]}`, `{"messages":[{"id":7}]}`,
	`{"userId":"u1"} x`, `{"userId":"u1"}{}`, `{"a":[[[[{"b":[]}]]]]}`, "{\"userId\":\"u1\"}\n",
}

func sameAsEncodingJSON(t *testing.T, data []byte) {
	t.Helper()
	var want, got body
	errWant := json.Unmarshal(data, &want)
	known := "u3"
	errGot := decodeBody(data, &got, &known)
	if (errWant == nil) != (errGot == nil) {
		t.Fatalf("%q: json.Unmarshal error %v, decodeBody error %v", data, errWant, errGot)
	}
	if errWant == nil && !reflect.DeepEqual(want, got) {
		t.Fatalf("%q:\njson.Unmarshal %s\ndecodeBody     %s", data, show(want), show(got))
	}
}

func show(b body) string {
	out, _ := json.Marshal(b)
	return string(out)
}

func TestDecodeBodyAsEncodingJSON(t *testing.T) {
	for _, b := range bodies {
		sameAsEncodingJSON(t, []byte(b))
	}
}

// FuzzDecodeBody: on any input, decodeBody agrees with json.Unmarshal on whether it is an
// error and on what the checks read. (Duplicate keys holding arrays are left out:
// encoding/json decodes the second array into the first one's elements, which no answer
// of a server that means it does.)
func FuzzDecodeBody(f *testing.F) {
	for _, b := range bodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var probe map[string]json.RawMessage
		if json.Unmarshal(data, &probe) == nil && duplicateArrayKey(data) {
			return
		}
		sameAsEncodingJSON(t, data)
	})
}

// duplicateArrayKey says whether an object's keys repeat (case-insensitively) among the
// item lists: the one case where encoding/json merges instead of replacing.
func duplicateArrayKey(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	seen := map[string]int{}
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				depth++
			} else {
				depth--
			}
		case string:
			if depth == 1 {
				for _, k := range []string{"messages", "conversations"} {
					if strings.EqualFold(v, k) {
						seen[k]++
					}
				}
			}
		}
	}
	return seen["messages"] > 1 || seen["conversations"] > 1
}

func TestRecordHeapOrdersByEnd(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Unix(1_700_000_000, 0)
	var h recordHeap
	for range 2000 {
		if len(h) > 0 && rng.IntN(3) == 0 {
			r := h.pop()
			// Every record still in the heap ends no earlier.
			for _, o := range h {
				if o.rec.End() < r.End() {
					t.Fatalf("popped end %v while %v waits", r.End(), o.rec.End())
				}
			}
			continue
		}
		lat := time.Duration(rng.IntN(1000)) * time.Millisecond
		h.push(driver.Record{Sent: time.Duration(rng.IntN(1000)) * time.Millisecond, Latency: lat, Res: &vegeta.Result{Timestamp: start, Latency: lat}})
	}
	var rest []time.Duration
	for len(h) > 0 {
		rest = append(rest, h.pop().End())
	}
	if !slices.IsSorted(rest) {
		t.Fatalf("draining the heap gave %v, not in order", rest)
	}
}

// BenchmarkDecodeBody: what the checker pays per 2xx answer, decodeBody beside the
// json.Unmarshal it replaced, on a /api/me/tier body and on a page of 20 messages.
func BenchmarkDecodeBody(b *testing.B) {
	page := `{"userId":"u3","conversationId":"c12","messages":[`
	for i := range 20 {
		if i > 0 {
			page += ","
		}
		page += `{"id":"m` + strconv.Itoa(90000+i) + `","userId":"u3","body":"message body of some length, as seeded","createdAt":"2026-01-01T00:00:00.123Z"}`
	}
	page += `],"nextCursor":null}`
	for _, in := range []struct{ name, data string }{{"tier", bodies[0]}, {"page", page}} {
		data := []byte(in.data)
		b.Run(in.name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var v body
				if err := json.Unmarshal(data, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(in.name+"/decodeBody", func(b *testing.B) {
			b.ReportAllocs()
			known := "u3"
			for b.Loop() {
				var v body
				if err := decodeBody(data, &v, &known); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
