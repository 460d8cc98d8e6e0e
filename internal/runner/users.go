package runner

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/driver"
	"github.com/atlasbench/atlasbench/internal/summary"
	"github.com/atlasbench/atlasbench/scenarios"
)

// learnTimeout bounds asking the target about every user of a users file.
const learnTimeout = 10 * time.Minute

// usersLearned is what learning a users file left for the run: done once, its notes
// repeated into every mode's.
type usersLearned struct {
	notes []summary.Note
}

// learnUsers asks the target, once per run, for what the users file lacks (tiers when the
// mix has an Atlas route, conversation IDs when it has a {id} route), drops the users whose token
// the target refuses, and sizes the scenario's population to what is left. Its notes say
// where the users came from, what was learned and whom the target refused.
func (o *engine) learnUsers(ctx context.Context) ([]summary.Note, error) {
	u := o.Users
	if u == nil || o.Target == "" {
		return nil, nil
	}
	if o.learned != nil {
		return o.learned.notes, nil
	}
	needTiers, needConvs := false, false
	for _, m := range o.Scenario.Mix {
		needTiers = needTiers || !m.Own && m.Weight > 0 // an Atlas route: the plan keeps the user's tier
		needConvs = needConvs || strings.Contains(m.Path, "{id}") && m.Weight > 0
	}
	if !needTiers && !needConvs { // only own routes: their placeholders come from the file
		o.learned = &usersLearned{notes: []summary.Note{summary.Notef(summary.NoteTarget, "", "users from %s: %d (own routes only: nothing learned from the target; a refused token shows as 401 errors)", u.Source(), u.Len())}}
		return o.learned.notes, nil
	}
	fmt.Fprintf(o.Progress, "[users] asking %s about %d users of %s…\n", o.Target, u.Len(), u.Source())
	lctx, cancel := context.WithTimeout(ctx, learnTimeout)
	defer cancel()
	got, err := u.Learn(lctx, &http.Client{Timeout: driver.DefaultTimeout}, o.Target, needTiers, needConvs, 0)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &EnvError{fmt.Errorf("runner: users file %s: %w", u.Source(), err)}
	}
	notes := []summary.Note{summary.Notef(summary.NoteTarget, "", "users from %s: %d; learned from the target: tiers of %d, conversations of %d",
		u.Source(), got.Asked, got.Tiers, got.Conversations)}
	if got.Refused > 0 {
		notes = append(notes, summary.Notef(summary.NoteTarget, "", "%d of %d tokens refused by the target (401), those users left out: %s",
			got.Refused, got.Asked, strings.Join(got.RefusedIDs, ", ")+more(got.Refused, len(got.RefusedIDs))))
	}
	if u.Len() == 0 {
		return notes, &EnvError{fmt.Errorf("runner: users file %s: the target refused every token (401)", u.Source())}
	}
	o.Scenario.Population.Users = u.Len()
	o.learned = &usersLearned{notes: notes}
	return notes, nil
}

// more is ", … (N more)" when a list shows fewer than all.
func more(all, shown int) string {
	if all > shown {
		return fmt.Sprintf(", … (%d more)", all-shown)
	}
	return ""
}

// readOnlyNote says what a read-only run (writes: false) does not measure.
func readOnlyNote(sc *scenarios.Scenario) []summary.Note {
	if !sc.ReadOnly {
		return nil
	}
	return []summary.Note{{Kind: summary.NoteReadOnly, Text: "read-only (writes: false or -read-only): every write dropped from the mix; checks off: " + scenarios.ReadOnlyChecksOff}}
}
