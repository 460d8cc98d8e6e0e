package threshold

import (
	"encoding/xml"
	"fmt"
	"io"

	"github.com/atlasbench/atlasbench/internal/summary"
)

// JUnit XML as Jenkins, GitLab, Azure Pipelines and most CI systems read it: one testsuite,
// one testcase per threshold; a threshold that failed has a <failure>, one that could not be
// evaluated (bad expression, missing figure) an <error>, one the run's mode cannot produce,
// one not judged (an interrupt) or INCONCLUSIVE (a saturated generator) a <skipped>.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnit writes the thresholds as JUnit XML: a testsuite named suite (the scenario, say) with
// one testcase per threshold. A failed threshold's <failure> gives the measured value
// against the expression; one that could not be evaluated gets an <error> with the reason.
func JUnit(w io.Writer, suite string, ts []summary.Threshold) error {
	s := junitSuite{Name: suite, Tests: len(ts), Time: "0"}
	for _, t := range ts {
		c := junitCase{Name: t.Expr, Classname: "atlasbench." + suite, Time: "0"}
		switch {
		case t.Inconclusive != "":
			s.Skipped++
			c.Skipped = &junitSkipped{Message: "INCONCLUSIVE: measured " + formatMeasured(t) + ": " + t.Inconclusive}
		case t.NotJudged != "":
			s.Skipped++
			c.Skipped = &junitSkipped{Message: "not judged: " + t.NotJudged}
		case t.NotApplicable != "":
			s.Skipped++
			c.Skipped = &junitSkipped{Message: "not applicable: " + t.NotApplicable}
		case t.Error != "":
			s.Errors++
			c.Error = &junitProblem{Type: "ThresholdError", Message: t.Error,
				Text: fmt.Sprintf("threshold %s could not be evaluated: %s\n", t.Expr, t.Error)}
		case !t.Pass:
			s.Failures++
			got := formatMeasured(t)
			c.Failure = &junitProblem{Type: "ThresholdFailed",
				Message: fmt.Sprintf("measured %s, want %s", got, t.Expr),
				Text:    fmt.Sprintf("threshold %s failed: the run measured %s\n", t.Expr, got)}
		}
		s.Cases = append(s.Cases, c)
	}
	doc := junitSuites{Name: "atlasbench", Tests: s.Tests, Failures: s.Failures, Errors: s.Errors, Suites: []junitSuite{s}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("threshold: junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("threshold: junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("threshold: junit: %w", err)
	}
	return nil
}
