package check

import (
	"strings"
	"testing"

	"github.com/atlasbench/atlasbench/internal/driver"
)

// reportWith judges records with a checker whose owner pointer is ptr ("" the Atlas model).
func reportWith(t *testing.T, ptr string, recs ...driver.Record) Report {
	t.Helper()
	p, err := ParsePointer(ptr)
	if err != nil {
		t.Fatal(err)
	}
	c := New(Options{Owner: p})
	for _, r := range recs {
		c.Add(r)
	}
	c.Close()
	return c.Report()
}

func TestOwnerPointerAndNotApplicable(t *testing.T) {
	own := rec("GET /api/me", 0, 5, 200, "free", `{"userId":"u1","tier":"free"}`)
	bare := rec("GET /api/me/tier", 0, 5, 200, "free", `{"tier":"free"}`)
	nested := func(owner string) driver.Record {
		return rec("GET /api/me", 0, 5, 200, "free", `{"data":{"owner":"`+owner+`"},"tier":"free"}`)
	}
	for _, tc := range []struct {
		name      string
		ptr       string
		recs      []driver.Record
		isolation int64
		na        bool
	}{
		// A body without an owner among bodies with one is a violation.
		{"missing among named", "", []driver.Record{own, bare}, 1, false},
		// No body names an owner: not applicable, never "0 violations".
		{"none named", "", []driver.Record{bare, bare}, 0, true},
		// The owner where the pointer says: the requester's, then someone else's.
		{"pointer own", "/data/owner", []driver.Record{nested("u1")}, 0, false},
		{"pointer foreign", "/data/owner", []driver.Record{nested("u1"), nested("u9")}, 1, false},
		// The Atlas body has nothing at /data/owner: not applicable.
		{"pointer absent", "/data/owner", []driver.Record{own, own}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := reportWith(t, tc.ptr, tc.recs...)
			if r.Isolation != tc.isolation || (r.IsolationNA != "") != tc.na {
				t.Errorf("isolation %d, not applicable %q; want %d, %v (examples %+v)", r.Isolation, r.IsolationNA, tc.isolation, tc.na, r.Examples)
			}
			if tc.na && (!strings.Contains(r.IsolationNA, "names an owner") || len(r.Examples) != 0) {
				t.Errorf("reason %q, examples %+v", r.IsolationNA, r.Examples)
			}
		})
	}
}
