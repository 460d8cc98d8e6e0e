package merge

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/atlasbench/atlasbench/internal/metrics"
	"github.com/atlasbench/atlasbench/internal/runner"
	"github.com/atlasbench/atlasbench/internal/summary"
)

// MismatchError is a set of directories that are not the shards of one run: another
// scenario, seed, config, mode or shard count, a duplicate shard, or not a shard at all.
type MismatchError struct{ Err error }

func (e *MismatchError) Error() string { return e.Err.Error() }
func (e *MismatchError) Unwrap() error { return e.Err }

// MissingError is a run whose shards are not all there.
type MissingError struct{ Err error }

func (e *MissingError) Error() string { return e.Err.Error() }
func (e *MissingError) Unwrap() error { return e.Err }

// Result is the merged run directory and its summary.
type Result struct {
	Dir     string
	Summary *summary.Summary
}

// shard is one directory given to Merge.
type shard struct {
	dir string
	s   *summary.Summary
}

// label is the shard's "i/N".
func (sh shard) label() string { return fmt.Sprintf("%d/%d", sh.s.Shard.Index, sh.s.Shard.Count) }

// key is what the shards of one run share.
func (sh shard) key() string {
	return fmt.Sprintf("scenario %q, seed %d, %d shards, config %q, mode %s",
		sh.s.Scenario, sh.s.Shard.Seed, sh.s.Shard.Count, sh.s.Config, sh.s.Mode)
}

// Merge merges the shard directories dirs into out (created; default
// <reports>/<UTC timestamp>-<scenario>-merged beside the first shard's parent). It
// refuses directories that are not the shards of one run (MismatchError, naming the odd
// one out) and an incomplete set (MissingError).
func Merge(dirs []string, out string) (*Result, error) {
	shards, err := load(dirs)
	if err != nil {
		return nil, err
	}
	first := shards[0]
	if out == "" {
		out = filepath.Join("reports", time.Now().UTC().Format("20060102T150405Z")+"-"+first.s.Scenario+"-merged")
	}

	// The modes are those shard 1 measured: one part file each.
	files, _ := filepath.Glob(filepath.Join(first.dir, metrics.PartFile("*")))
	var modes []summary.Mode
	for _, f := range files {
		p, err := metrics.ReadPart(f)
		if err != nil {
			return nil, &MismatchError{fmt.Errorf("merge: %w", err)}
		}
		modes = append(modes, p.Mode)
	}
	if len(modes) == 0 {
		return nil, &MissingError{fmt.Errorf("merge: %s has no %s: the shard did not finish", first.dir, metrics.PartFile("<mode>"))}
	}
	figs := map[summary.Mode][]summary.Figures{}
	var notes []summary.Note
	for _, mode := range modes {
		f, more, err := mergeMode(shards, mode)
		if err != nil {
			return nil, err
		}
		figs[mode] = []summary.Figures{f}
		notes = append(notes, more...)
	}

	s := &summary.Summary{
		Schema: summary.Schema, Scenario: first.s.Scenario, Config: first.s.Config, Mode: first.s.Mode,
		Started: first.s.Started, Env: first.s.Env, Population: first.s.Population,
		Count: 1, Samples: map[string][]float64{}, Shards: len(shards),
	}
	for _, sh := range shards {
		s.Interrupted = s.Interrupted || sh.s.Interrupted
		for _, n := range sh.s.Notes {
			if n.Kind == summary.NoteHeaders {
				// A shard's headers are its share of the traffic, the server's counters all
				// of it: the merged figures make this comparison again, on the whole.
				continue
			}
			n.Shard = sh.label()
			notes = append(notes, n)
		}
	}
	s.Notes = notes
	exprs := make([]string, len(first.s.Thresholds))
	for i, t := range first.s.Thresholds {
		exprs[i] = t.Expr
	}
	runner.Summarise(s, figs, exprs)

	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	if err := runner.Write(out, s); err != nil {
		return nil, err
	}
	return &Result{Dir: out, Summary: s}, nil
}

// load reads the shards' summaries, checks they belong together and are all there, and
// returns them in shard order.
func load(dirs []string) ([]shard, error) {
	if len(dirs) == 0 {
		return nil, &MismatchError{errors.New("merge: no shard directories given")}
	}
	var shards []shard
	for _, d := range dirs {
		s, err := summary.Read(d)
		if err != nil {
			return nil, &MismatchError{fmt.Errorf("merge: %w", err)}
		}
		if s.Shard == nil {
			return nil, &MismatchError{fmt.Errorf("merge: %s is not a shard's run (no \"shard\" in its summary.json: run it with -shard i/N)", d)}
		}
		shards = append(shards, shard{dir: d, s: s})
	}
	// The odd one out: the shard whose key the fewest share (the later one on a tie).
	count := map[string]int{}
	for _, sh := range shards {
		count[sh.key()]++
	}
	ref := shards[0].key()
	for k, n := range count {
		if n > count[ref] {
			ref = k
		}
	}
	for _, sh := range shards {
		if k := sh.key(); k != ref {
			return nil, &MismatchError{fmt.Errorf("merge: %s does not belong with the others: it is %s; they are %s", sh.dir, k, ref)}
		}
	}
	slices.SortStableFunc(shards, func(a, b shard) int { return cmp.Compare(a.s.Shard.Index, b.s.Shard.Index) })
	n := shards[0].s.Shard.Count
	byIndex := map[int]string{}
	for _, sh := range shards {
		if prev, dup := byIndex[sh.s.Shard.Index]; dup {
			return nil, &MismatchError{fmt.Errorf("merge: %s and %s are both shard %d/%d", prev, sh.dir, sh.s.Shard.Index, n)}
		}
		byIndex[sh.s.Shard.Index] = sh.dir
	}
	var missing []string
	for i := 1; i <= n; i++ {
		if _, ok := byIndex[i]; !ok {
			missing = append(missing, fmt.Sprintf("%d/%d", i, n))
		}
	}
	if len(missing) > 0 {
		return nil, &MissingError{fmt.Errorf("merge: shard %s missing (got %d of %d directories)", strings.Join(missing, ", "), len(shards), n)}
	}
	return shards, nil
}

// mergeMode merges one mode's parts, finishes them into figures and composes those with
// what the parts do not hold (serverParts).
func mergeMode(shards []shard, mode summary.Mode) (summary.Figures, []summary.Note, error) {
	parts := make([]*metrics.Part, len(shards))
	for i, sh := range shards {
		p, err := metrics.ReadPart(filepath.Join(sh.dir, metrics.PartFile(string(mode))))
		if errors.Is(err, os.ErrNotExist) {
			return summary.Figures{}, nil, &MissingError{fmt.Errorf("merge: %s has no %s measurements (%s): the shard did not finish", sh.dir, mode, metrics.PartFile(string(mode)))}
		}
		if err != nil {
			return summary.Figures{}, nil, &MismatchError{fmt.Errorf("merge: %w", err)}
		}
		parts[i] = p
	}
	rec, in, notes, err := metrics.MergeParts(parts)
	if err != nil {
		return summary.Figures{}, nil, &MismatchError{fmt.Errorf("merge: %s: %w", mode, err)}
	}
	recorded, more := rec.Finish(in)
	notes = append(notes, more...)
	return runner.Compose(recorded, serverParts(shards, recorded.Mode)), notes, nil
}

// serverParts are the figures of a merged mode that the parts do not hold, measured by
// the shards after their attacks: the harness's peak memory (the largest shard's), the
// generator health of the most saturated shard (labelled with it: a saturated generator
// in any shard distorts the merged latency), every shard's cross-checks of the mode (their
// witnesses' verdicts, each labelled with its shard), and, of the server side, shard 1's:
// capacity, extra figures, the instances' memory and the witnesses' figures.
func serverParts(shards []shard, mode summary.Mode) runner.Parts {
	var p runner.Parts
	for i, sh := range shards {
		sf := modeFigures(sh.s, mode)
		p.HarnessRSSMiB = max(p.HarnessRSSMiB, sf.HarnessRSSMiB)
		if h := sf.GeneratorHealth; h != nil && worseHealth(h, p.GeneratorHealth) {
			gh := *h
			gh.Shard = sh.label()
			p.GeneratorHealth = &gh
		}
		if sh.s.CrossChecks != nil {
			for _, c := range sh.s.CrossChecks.Checks {
				if c.Mode != mode {
					continue // another mode's, or both modes' (Summarise makes it again)
				}
				c.Detail = strings.TrimSuffix("shard "+sh.label()+": "+c.Detail, ": ")
				p.Witnessed.CrossChecks = append(p.Witnessed.CrossChecks, c)
			}
		}
		if i > 0 {
			continue
		}
		p.Capacity, p.Extra = sf.Capacity, sf.Extra
		for _, sv := range sf.Servers {
			p.ServerRSSMiB = append(p.ServerRSSMiB, sv.RSSMiB)
		}
		p.Witnessed.RedisStats, p.Witnessed.PGStats, p.Witnessed.ServerLatency = sf.RedisStats, sf.PGStats, sf.ServerLatency
	}
	return p
}

// worseHealth is whether h is more saturated than the worst so far: saturated before not,
// then the larger share of saturated seconds.
func worseHealth(h, worst *summary.GeneratorHealth) bool {
	switch {
	case worst == nil:
		return true
	case h.Saturated != worst.Saturated:
		return h.Saturated
	default:
		return h.Aggregates.SaturatedShare > worst.Aggregates.SaturatedShare
	}
}

// modeFigures is the summary's figures of mode: NoCache when both modes ran and mode is
// nocache, else the top-level ones (the only mode's, or the cache's).
func modeFigures(s *summary.Summary, mode summary.Mode) *summary.Figures {
	if s.NoCache != nil && mode == summary.ModeNoCache {
		return s.NoCache
	}
	return &s.Figures
}
