package witness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Hist is a request-duration histogram scraped from a server's /metrics, merged over the
// series a filter kept: native buckets when the server exports them (exact to the bucket
// factor), classic cumulative buckets otherwise. Durations are in seconds.
type Hist struct {
	Count uint64
	Sum   float64
	// Native buckets: index i holds (base^(i-1), base^i] with base = 2^(2^-Schema).
	Native        bool
	Schema        int32
	ZeroThreshold float64
	ZeroCount     uint64
	Buckets       map[int]uint64
	// Classic buckets: cumulative count at or below each upper bound.
	Classic map[float64]uint64
}

// Sub returns h - before (the observations between two scrapes).
func (h Hist) Sub(before Hist) Hist {
	d := Hist{Count: h.Count - before.Count, Sum: h.Sum - before.Sum, Native: h.Native && (before.Native || before.Count == 0),
		Schema: h.Schema, ZeroThreshold: h.ZeroThreshold, ZeroCount: h.ZeroCount - before.ZeroCount,
		Buckets: map[int]uint64{}, Classic: map[float64]uint64{}}
	for i, n := range h.Buckets {
		d.Buckets[i] = n - before.Buckets[i]
	}
	for ub, n := range h.Classic {
		d.Classic[ub] = n - before.Classic[ub]
	}
	return d
}

// Quantile returns the q-quantile (0 < q < 1) in seconds; NaN without observations.
// Within a native bucket it interpolates exponentially, within a classic one linearly.
func (h Hist) Quantile(q float64) float64 {
	if h.Count == 0 {
		return math.NaN()
	}
	rank := q * float64(h.Count)
	if h.Native {
		if float64(h.ZeroCount) >= rank {
			return 0
		}
		cum := float64(h.ZeroCount)
		base := math.Pow(2, math.Pow(2, -float64(h.Schema)))
		idx := make([]int, 0, len(h.Buckets))
		for i := range h.Buckets {
			idx = append(idx, i)
		}
		slices.Sort(idx)
		for _, i := range idx {
			n := float64(h.Buckets[i])
			if n > 0 && cum+n >= rank {
				lo, hi := math.Pow(base, float64(i-1)), math.Pow(base, float64(i))
				return lo * math.Pow(hi/lo, (rank-cum)/n)
			}
			cum += n
		}
		if len(idx) > 0 {
			return math.Pow(base, float64(idx[len(idx)-1]))
		}
		return 0
	}
	bounds := make([]float64, 0, len(h.Classic))
	for ub := range h.Classic {
		bounds = append(bounds, ub)
	}
	slices.Sort(bounds)
	prevB, prevN := 0.0, 0.0
	for _, ub := range bounds {
		n := float64(h.Classic[ub])
		if n >= rank {
			if math.IsInf(ub, 1) {
				return prevB
			}
			if n == prevN {
				return ub
			}
			return prevB + (ub-prevB)*(rank-prevN)/(n-prevN)
		}
		prevB, prevN = ub, n
	}
	return prevB
}

// RelError is the largest relative error of a quantile read from h: half a bucket's
// width for native buckets; unknown (NaN) for classic ones.
func (h Hist) RelError() float64 {
	if !h.Native {
		return math.NaN()
	}
	return math.Pow(2, math.Pow(2, -float64(h.Schema))) - 1
}

// protoAccept asks for the delimited protobuf format, the one that carries native buckets.
const protoAccept = `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3`

// ErrNoMetric means the server's /metrics has no histogram of that name.
var ErrNoMetric = errors.New("witness: no such histogram on /metrics")

// ScrapeHist reads the histogram metric from url (a /metrics endpoint) and merges the
// series whose labels keep accepts (nil keeps all).
func ScrapeHist(ctx context.Context, client *http.Client, url, metric string, keep func(labels map[string]string) bool) (Hist, error) {
	hs, err := ScrapeHists(ctx, client, url, metric, keep)
	if err != nil {
		return Hist{}, err
	}
	return hs[0], nil
}

// ScrapeHists reads the histogram metric from url once and merges, for each keep, the series
// whose labels it accepts (nil keeps all): one Hist per keep, in order.
func ScrapeHists(ctx context.Context, client *http.Client, url, metric string, keeps ...func(labels map[string]string) bool) ([]Hist, error) {
	hs := make([]Hist, len(keeps))
	for i := range hs {
		hs[i] = Hist{Buckets: map[int]uint64{}, Classic: map[float64]uint64{}}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return hs, fmt.Errorf("witness: scrape: %w", err)
	}
	req.Header.Set("Accept", protoAccept)
	res, err := client.Do(req)
	if err != nil {
		return hs, fmt.Errorf("witness: scrape %s: %w", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return hs, fmt.Errorf("witness: scrape %s: %s", url, res.Status)
	}
	dec := expfmt.NewDecoder(io.LimitReader(res.Body, 64<<20), expfmt.ResponseFormat(res.Header))
	found := false
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return hs, fmt.Errorf("witness: scrape %s: %w", url, err)
		}
		if mf.GetName() != metric || mf.GetType() != dto.MetricType_HISTOGRAM {
			continue
		}
		found = true
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for i, keep := range keeps {
				if keep != nil && !keep(labels) {
					continue
				}
				if err := hs[i].add(m.GetHistogram()); err != nil {
					return hs, fmt.Errorf("witness: scrape %s: %s%v: %w", url, metric, labels, err)
				}
			}
		}
	}
	if !found {
		return hs, fmt.Errorf("%w: %s at %s", ErrNoMetric, metric, url)
	}
	return hs, nil
}

// merge adds o's observations to h.
func (h *Hist) merge(o Hist) error {
	if h.Native && o.Native && h.Schema != o.Schema {
		return fmt.Errorf("witness: native schemas %d and %d in one histogram", h.Schema, o.Schema)
	}
	h.Native = (h.Native || h.Count == 0) && (o.Native || o.Count == 0)
	h.Count += o.Count
	h.Sum += o.Sum
	h.ZeroCount += o.ZeroCount
	for i, n := range o.Buckets {
		h.Buckets[i] += n
	}
	for ub, n := range o.Classic {
		h.Classic[ub] += n
	}
	return nil
}

// add merges one series.
func (h *Hist) add(s *dto.Histogram) error {
	h.Count += s.GetSampleCount()
	h.Sum += s.GetSampleSum()
	for _, b := range s.GetBucket() {
		h.Classic[b.GetUpperBound()] += b.GetCumulativeCount()
	}
	if len(s.GetPositiveSpan()) == 0 && s.GetZeroThreshold() == 0 {
		return nil // classic only
	}
	if h.Native && s.GetSchema() != h.Schema {
		return fmt.Errorf("native schemas %d and %d in one histogram", h.Schema, s.GetSchema())
	}
	h.Native, h.Schema, h.ZeroThreshold = true, s.GetSchema(), s.GetZeroThreshold()
	h.ZeroCount += s.GetZeroCount()
	deltas := s.GetPositiveDelta()
	idx, n, k := 0, int64(0), 0
	for si, span := range s.GetPositiveSpan() {
		if si == 0 {
			idx = int(span.GetOffset())
		} else {
			idx += int(span.GetOffset())
		}
		for range span.GetLength() {
			if k >= len(deltas) {
				return errors.New("native histogram: fewer deltas than spans say")
			}
			n += deltas[k]
			k++
			if n > 0 {
				h.Buckets[idx] += uint64(n)
			}
			idx++
		}
	}
	return nil
}

// CacheHits keeps the series of answers under /api/ served from the cache: the reference
// server labels its durations with cache="hit" when it answered X-Cache: HIT.
func CacheHits(labels map[string]string) bool {
	return APIRoutes(labels) && labels["cache"] == "hit"
}

// APIRoutes keeps the series of routes under /api/ (the requests a harness sends).
func APIRoutes(labels map[string]string) bool {
	_, path, _ := strings.Cut(labels["route"], " ")
	return strings.HasPrefix(path, "/api/")
}
