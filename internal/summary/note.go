package summary

import (
	"encoding/json"
	"fmt"
)

// NoteKind says what a Note is about; code decides on kinds, never on a note's words.
type NoteKind string

// Note kinds.
const (
	NoteRedis    NoteKind = "redis"     // the Redis the run used (embedded, external): caveats on its figures
	NoteTarget   NoteKind = "target"    // what a -target run could not do
	NoteStopped  NoteKind = "stopped"   // the run stopped early, and why
	NoteStats    NoteKind = "stats"     // the server's stats over the window: missing, partial, failed polls
	NoteHeaders  NoteKind = "headers"   // the server's counters and the X-Cache headers differ on a hit rate
	NotePhases   NoteKind = "phases"    // the phases could not be cut as the scenario says
	NoteWitness  NoteKind = "witness"   // a second witness could not be read
	NoteFault    NoteKind = "fault"     // a fault failed to inject
	NoteLate     NoteKind = "late"      // a shard started its measured window late
	NoteKeyAudit NoteKind = "key-audit" // the cache-key audit could not run
	NoteCapacity NoteKind = "capacity"  // the capacity figures could not be read
	NoteMerge    NoteKind = "merge"     // the shards of a merged run disagree
	NoteReadOnly NoteKind = "read-only" // a read-only run: the checks its dropped writes turn off
	NoteRestart  NoteKind = "restart"   // a server instance was stopped or restarted gracefully: its drain
	NoteOther    NoteKind = "other"     // a v1 summary's note, whose kind is unknown
)

// NoteKinds are every NoteKind, in the order summary.json's schema lists them.
func NoteKinds() []NoteKind {
	return []NoteKind{NoteRedis, NoteTarget, NoteStopped, NoteStats, NoteHeaders, NotePhases, NoteWitness, NoteFault,
		NoteLate, NoteKeyAudit, NoteCapacity, NoteMerge, NoteReadOnly, NoteRestart, NoteOther}
}

// Note is one loud caveat of a run, for the report: its kind, the mode it is about (empty:
// the whole run) and its text.
type Note struct {
	Kind NoteKind `json:"kind"`
	Mode Mode     `json:"mode,omitempty"`
	Text string   `json:"text"`
	// Shard, in a merged run, is the shard run the note came from ("2/3"); empty otherwise.
	Shard string `json:"shard,omitempty"`
}

// String is the note as the reports print it: "shard 2/3: cache: 3 stats polls failed".
func (n Note) String() string {
	s := n.Text
	if n.Mode != "" {
		s = string(n.Mode) + ": " + s
	}
	if n.Shard != "" {
		s = "shard " + n.Shard + ": " + s
	}
	return s
}

// Notef makes a note of kind about mode (empty: the whole run).
func Notef(kind NoteKind, mode Mode, format string, args ...any) Note {
	return Note{Kind: kind, Mode: mode, Text: fmt.Sprintf(format, args...)}
}

// UnmarshalJSON reads a note of either schema: an object (v2) or a string (v1, kind NoteOther).
func (n *Note) UnmarshalJSON(data []byte) error {
	var text string
	if err := json.Unmarshal(data, &text); err == nil {
		*n = Note{Kind: NoteOther, Text: text}
		return nil
	}
	type plain Note
	return json.Unmarshal(data, (*plain)(n))
}

// NoteStrings are notes as the reports print them.
func NoteStrings(notes []Note) []string {
	out := make([]string, len(notes))
	for i, n := range notes {
		out[i] = n.String()
	}
	return out
}
