package summary

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestNoteKindsInSchema: summary.json's schema accepts exactly the note kinds the code
// writes, so a kind added in code without the schema fails here, not in a user's CI.
func TestNoteKindsInSchema(t *testing.T) {
	var schema struct {
		Properties struct {
			Notes struct {
				Items struct {
					Properties struct {
						Kind struct {
							Enum []NoteKind `json:"enum"`
						} `json:"kind"`
					} `json:"properties"`
				} `json:"items"`
			} `json:"notes"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(SchemaJSON, &schema); err != nil {
		t.Fatal(err)
	}
	if got, want := schema.Properties.Notes.Items.Properties.Kind.Enum, NoteKinds(); !slices.Equal(got, want) {
		t.Errorf("schema.json's note kinds %q, want the code's %q", got, want)
	}
}
