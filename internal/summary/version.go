package summary

import "encoding/json"

// deriveModes restores what summary.json says once: the figures' modes. The top-level
// figures are the cache mode's when both modes ran, the target server's own mode against
// a -target, else the run's; NoCache's are ModeNoCache.
func (s *Summary) deriveModes() {
	switch s.Mode {
	case ModeBoth:
		s.Figures.Mode = ModeCache
	case ModeTarget:
		s.Figures.Mode = s.Env.TargetMode
		if s.Figures.Mode == "" {
			s.Figures.Mode = ModeCache
		}
	default:
		s.Figures.Mode = s.Mode
	}
	if s.NoCache != nil {
		s.NoCache.Mode = ModeNoCache
	}
}

// v1Figures are the fields of a v1 summary's figures whose names changed in v2.
type v1Figures struct {
	Redis *struct {
		Shards []SlotRange `json:"shards"`
	} `json:"redis"`
	Series *struct {
		HitRateByShard map[string][]float64 `json:"hit_rate_by_shard"`
	} `json:"series"`
	Phases []struct {
		Shards []SlotRange `json:"shards"`
	} `json:"phases"`
}

// into copies the renamed fields into f.
func (v v1Figures) into(f *Figures) {
	if v.Redis != nil && f.Redis != nil {
		f.Redis.SlotRanges = v.Redis.Shards
	}
	if v.Series != nil && f.Series != nil {
		f.Series.HitRateBySlotRange = v.Series.HitRateByShard
	}
	for i, p := range v.Phases {
		if i < len(f.Phases) {
			f.Phases[i].SlotRanges = p.Shards
		}
	}
}

// fromV1 reads what a v1 summary (data) names differently from v2: the Redis Cluster
// slot ranges, which v1 called shards. Its notes (strings) Note reads itself.
func (s *Summary) fromV1(data []byte) error {
	var v struct {
		v1Figures
		NoCache *v1Figures `json:"nocache"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	v.v1Figures.into(&s.Figures)
	if v.NoCache != nil && s.NoCache != nil {
		v.NoCache.into(s.NoCache)
	}
	return nil
}
