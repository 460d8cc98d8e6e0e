package main

import (
	"fmt"
	"strings"
)

// outFlag is -out: the reports root directory, or (as k6 writes it) an output stream
// TYPE=FILE; jsonl=FILE streams one JSON line of progress per second.
type outFlag struct {
	root  *string // the reports root
	jsonl string  // the jsonl stream's file; "" for none
}

func (f *outFlag) String() string {
	if f.root == nil {
		return ""
	}
	return *f.root
}

func (f *outFlag) Set(v string) error {
	kind, file, ok := strings.Cut(v, "=")
	switch {
	case !ok:
		*f.root = v
	case kind == "jsonl" && file != "":
		f.jsonl = file
	default:
		return fmt.Errorf("want a directory or jsonl=FILE, got %q", v)
	}
	return nil
}
