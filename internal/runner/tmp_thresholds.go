package runner

import "github.com/atlasbench/atlasbench/internal/summary"

// evalThresholds is a placeholder until internal/threshold lands (TEMPORARY).
func evalThresholds(exprs []string, s *summary.Summary) ([]summary.Threshold, bool) {
	var out []summary.Threshold
	pass := s.Errors == 0 && s.IsolationViolations == 0 && s.StaleReads == 0
	for _, e := range exprs {
		out = append(out, summary.Threshold{Expr: e, Pass: pass})
	}
	return out, pass
}
